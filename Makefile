# The two commands a new user needs (see README): `make demo` and `make test`.
# Each sets up the clone first (tools/bootstrap.sh, idempotent).
SHELL := /bin/bash
ENV := . tools/env.sh &&

.PHONY: setup demo test fuzz lint slither bench deploy-anvil clean zk-setup

setup:
	@tools/bootstrap.sh

demo: setup
	@$(ENV) ape run demo

test: setup
	@$(ENV) tools/test.sh

# Every hostile-actor state machine at depth (>= 1,000 examples x 50 steps each; hours on
# 2 cores): figures to bench/results/fuzz.json. FUZZ_ARGS narrows it (e.g. a -k filter).
fuzz: setup
	@$(ENV) MEDCHAIN_FUZZ=1 ape test -m statemachine $(FUZZ_ARGS)

lint: setup
	@$(ENV) ruff format --check . && ruff check . && mypy

slither: setup
	@$(ENV) python -m medchain.toolchain slither

bench: setup
	@$(ENV) python -m bench.run

# Regenerate the zero-knowledge keys (one-party local ceremony, ~10 min the first time; tests
# and CI use the committed artifacts and never run it): docs/zk.md.
zk-setup: setup
	@nice -n 10 tools/zk/ceremony.sh

clean:
	rm -rf .build .medchain/deployments .medchain/ape/logs
