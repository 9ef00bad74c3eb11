"""The floor arithmetic of bench/gas.py, checked by hand-computed cases."""

from bench.gas import calldata_gas, log_gas, storage_changes


def test_calldata_costs_4_per_zero_and_16_per_nonzero_byte():
    assert calldata_gas(b"") == 0
    assert calldata_gas(b"\x00\x00\x01") == 4 + 4 + 16


def test_log_cost_counts_topics_and_data_bytes():
    assert log_gas([{"topics": [b"a", b"b"], "data": b"\x00" * 32}]) == 375 + 2 * 375 + 8 * 32
    assert log_gas([{"topics": [], "data": "0x"}]) == 375


def test_storage_changes_classifies_set_reset_and_clear():
    diff = {
        "pre": {"0xa": {"storage": {"0x1": "0x5", "0x2": "0x7"}}},
        "post": {"0xa": {"storage": {"0x1": "0x6", "0x3": "0x1"}}},
    }
    # 0x1: 5->6 reset, 0x2: 7->0 cleared, 0x3: 0->1 set
    assert storage_changes(diff) == (1, 1, 1)
