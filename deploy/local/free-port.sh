#!/usr/bin/env bash
# Print a currently free TCP port on 127.0.0.1.
# Usage: deploy/local/free-port.sh
set -euo pipefail
command -v python3 >/dev/null 2>&1 || { echo "free-port: error: python3 not found" >&2; exit 1; }
python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
'
