#!/usr/bin/env bash
# timeout: 600
. "$(dirname "$0")/common-boot.sh"
boot_test nested 120
