#!/usr/bin/env bash
# timeout: 400
. "$(dirname "$0")/common-boot.sh"
boot_test nonnested 60
