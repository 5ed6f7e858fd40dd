"""The optimiser: pure, synchronous, no I/O; plain frozen structs in, structs out."""
