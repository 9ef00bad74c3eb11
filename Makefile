# The two commands a new user needs (see README): `make demo` and `make test`.
# Each sets up the clone first (tools/bootstrap.sh, idempotent).
SHELL := /bin/bash
ENV := . tools/env.sh &&

.PHONY: setup demo test lint slither bench deploy-anvil clean

setup:
	@tools/bootstrap.sh

demo: setup
	@$(ENV) ape run demo

test: setup
	@$(ENV) tools/test.sh

lint: setup
	@$(ENV) ruff format --check . && ruff check . && mypy

slither: setup
	@$(ENV) python -m medchain.toolchain slither

bench: setup
	@$(ENV) python -m bench.run

clean:
	rm -rf .build .medchain/deployments .medchain/ape/logs
