"""Values of the platform contract that both the drivers and edge_sync need, in one place: the layering
rule lets neither import the other (DESIGN §3), so what both must agree on lives here, below both, on
the standard library only. The central simulator keeps its own copy on purpose (it is the other side of
the contract); both are checked against the same fixed vectors (tests/contract/test_query_code_vectors.py)."""
