# The two commands a new user needs (see README): `make demo` and `make test`.
# Each sets up the clone first (tools/bootstrap.sh, idempotent).
SHELL := /bin/bash
ENV := . tools/env.sh &&

.PHONY: setup demo test fuzz lint slither bench deploy-anvil clean zk-setup portal

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
	@$(ENV) python tools/toolchain.py slither

bench: setup
	@$(ENV) python -m bench.run

# Regenerate the zero-knowledge keys (one-party local ceremony, ~10 min the first time; tests
# and CI use the committed artifacts and never run it): docs/zk.md.
zk-setup: setup
	@nice -n 10 tools/zk/ceremony.sh

# The web portal (web/, docs/portal.md) built and served on http://127.0.0.1:4173/ against
# the node at MEDCHAIN_PORTAL_RPC (default anvil's 8545) with its address book
# (MEDCHAIN_BOOK / MEDCHAIN_PORTAL_BOOK, default ethereum-chain-31337).
portal: setup
	@cd web && node node_modules/vite/bin/vite.js build --logLevel warn && node scripts/copy-book.mjs \
	  && node node_modules/vite/bin/vite.js preview

clean:
	rm -rf .build .medchain/deployments .medchain/ape/logs
