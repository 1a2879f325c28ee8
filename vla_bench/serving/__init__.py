"""Policies over WebSocket in openpi's protocol: `vla-bench serve` and `--policy ws://HOST:PORT`."""
