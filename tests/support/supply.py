"""Constants and lot builders shared by the supply tests (a uniquely named module so
it never collides with another folder's conftest)."""

from __future__ import annotations

from medchain.supply import LotManifest, Role, make_gtin, make_sscc

PREFIX = "0614141"  # GS1's example company prefix
OTHER_PREFIX = "0777777"
WHOLESALER_PREFIX = "0888888"  # wholesalers and dispensers register one to pack SSCCs
PHARMACY_PREFIX = "0999999"
GTIN = make_gtin(PREFIX, "12345")
OTHER_GTIN = make_gtin(OTHER_PREFIX, "00001")

# The trading partners of the supply conftest's `partners`: each one's role and the company
# prefix it registers (pharmacy2, a second dispenser, registers none).
PARTNER_ROLES = {
    "manufacturer": Role.MANUFACTURER,
    "repackager": Role.REPACKAGER,
    "wholesaler": Role.WHOLESALER,
    "pharmacy": Role.DISPENSER,
    "pharmacy2": Role.DISPENSER,
}
PARTNER_PREFIXES = {
    "manufacturer": PREFIX,
    "repackager": OTHER_PREFIX,
    "wholesaler": WHOLESALER_PREFIX,
    "pharmacy": PHARMACY_PREFIX,
}


_counter = iter(range(10**6))


def new_lot(n: int = 8, expiry: str = "301231", gtin: str = GTIN) -> LotManifest:
    lot = f"L{next(_counter):05d}"
    return LotManifest(gtin, lot, expiry, [f"SN{lot}{i:04d}" for i in range(n)])


def sscc(prefix: str, n: int) -> str:
    """The n-th SSCC of a company prefix (extension digit 0)."""
    return make_sscc("0", prefix, f"{n:0{16 - len(prefix)}d}")
