"""Load benchmarks of the gateway against PostGraphile 5 and a hand-written limit."""
