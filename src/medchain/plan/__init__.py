"""Deploy specs, one module per domain, each exporting `SPECS: list[ContractSpec]`.

`medchain.deploy.discover_specs` imports every module here and orders the specs by
their `depends_on`; module names only break ties.
"""
