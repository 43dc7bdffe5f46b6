#!/bin/sh
# As the official image does: without a config file, redis-server's protected mode refuses
# every client but loopback, so turn it off (the container's network is the boundary).
set -e
if [ "$1" = "redis-server" ]; then
  shift
  set -- redis-server --protected-mode no "$@"
fi
exec "$@"
