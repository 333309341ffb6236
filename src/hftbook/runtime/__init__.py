"""Everything around the pure core that touches the process: GC policy, and later the
gateways, journal, market-data publishers and the pipeline."""
