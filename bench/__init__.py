"""Benchmarks: gas per operation (bench/gas.json) and other recorded figures (bench/results/)."""
