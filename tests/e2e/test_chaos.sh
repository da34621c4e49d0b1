#!/usr/bin/env bash
# The short chaos run (tests/chaos/chaos.sh short) as part of the end-to-end tests;
# `make chaos` runs the long one.
E2E_NAME=test_chaos exec bash "$(dirname "$0")/../chaos/chaos.sh" short
