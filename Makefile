# Top-level entry points. Every target installs what it needs (scripts/setup)
# and prints progress lines with elapsed seconds since make started.
#
#   make test        unit + integration tests (set-up and builds included)
#   make reproduce   set-up, builds, every benchmark and attack, figures
#   make unit        unit tests only (seconds; no VM)
#   make all         L0 build and images only

SHELL := /bin/bash
export NVSEC_T0 := $(shell date +%s)

.PHONY: all setup l0 images test unit integration reproduce lint clean

all: l0 images

setup:
	@scripts/setup

l0: setup
	@scripts/build-l0

images: setup
	@scripts/build-images

test: all
	@tests/run

unit: setup
	@tests/run --unit

integration: all
	@tests/run --integration

reproduce: export QUICK := $(QUICK)
reproduce:
	@scripts/reproduce

lint: setup
	@shellcheck -x $$(git ls-files | xargs grep -l -s -m1 -E '^(#!(/usr/bin/env bash|/bin/sh|/bin/bash)|# shellcheck shell=)')

clean:
	rm -rf build tests/unit/build

# --- benchmarks, figures, tables (issue: benchmarks) ---------------------------
RESULTS ?= results
FIGURES ?= figures
PAPER ?= PAPER.md
.PHONY: bench-latency bench-throughput figures paper-tables

bench-latency: all
	@bench/console-bench latency

bench-throughput: all
	@bench/console-bench throughput

figures:
	@scripts/figures $(RESULTS) $(FIGURES)

paper-tables:
	@scripts/paper-tables $(RESULTS) $(PAPER)

# --- V-Met --------------------------------------------------------------------------
.PHONY: bench-vmet attack-ids

bench-vmet: all
	@bench/vmet/run

attack-ids: all
	@attacks/ids-disable/run

# --- attack demos -------------------------------------------------------------------
.PHONY: attack-console

attack-console: all
	@attacks/console-snoop/run

# --- USShadow ---------------------------------------------------------------------
.PHONY: bench-migration attack-migration

bench-migration: all
	@bench/migration/run

attack-migration: all
	@attacks/migration-snoop/run
# --- VMCrypt ------------------------------------------------------------------------
# attack-image: the shadow-password search in a suspend image (papers/003 sec. 5.4);
# bench-memcrypt: map+unmap and suspend/resume times (figs. 4(a), 5), QUICK=1 for a short run.
.PHONY: attack-image bench-memcrypt
attack-image: all
	@attacks/image-strings/run

bench-memcrypt: export QUICK := $(QUICK)
bench-memcrypt: all
	@bench/memcrypt/run
