"""Genomic data licensing: patients list encrypted genomes as dataset tokens, researchers
licence them for a DUO purpose and a period, owners are paid from escrow when their
key agent delivers the dataset key, wrapped to the licensee's DID key-agreement key.

* `duo`     GA4GH Data Use Ontology codes <-> the contract's 32-bit mask;
* `client`  typed clients of GenomicDataset and GenomicLicensing (EIP-712 terms);
* `data`    owner side (encrypt, store, mint, keyring) and researcher side
            (wait for the key, download, verify, decrypt);
* `agent`   the restart-safe key-delivery agent behind `medchain genomics serve-keys`.
"""

from medchain.genomics.client import (
    ETH,
    DatasetInfo,
    DatasetState,
    GenomicDatasetClient,
    GenomicsClient,
    LicenceInfo,
    LicenceStatus,
    NotLicensed,
    OfferInfo,
    licence_id_of,
    split_licence_id,
)

__all__ = [
    "ETH",
    "DatasetInfo",
    "DatasetState",
    "GenomicDatasetClient",
    "GenomicsClient",
    "LicenceInfo",
    "LicenceStatus",
    "NotLicensed",
    "OfferInfo",
    "licence_id_of",
    "split_licence_id",
]
