#!/usr/bin/env bash
# Makes the real texts bench/whole_run.py trains on, in bench/data/ (ignored by git):
#   kjv.txt        the King James Bible as plain text, one verse a line, about 4.1 MB
#   kjv-1mb.txt    its first 1,100,000 bytes (the size of nanoGPT's tiny Shakespeare)
#   kjv-50mb.txt   kjv.txt repeated to 50,000,000 bytes, cut at the end of a line
# The text comes from Debian's bible-kjv package (installed with apt-get if `bible` is missing):
# `bible -f` prints every verse as "Ge1:1 In the beginning…", and sed strips the reference.
# Running it again does nothing once the files are there. Usage: bench/make_texts.sh
set -euo pipefail

DATA="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/data"
FULL="$DATA/kjv.txt" SMALL="$DATA/kjv-1mb.txt" LARGE="$DATA/kjv-50mb.txt"
SMALL_BYTES=1100000 LARGE_BYTES=50000000

fail() { echo "make_texts.sh: $*" >&2; exit 1; }
size() { wc -c < "$1" | tr -d ' '; }

mkdir -p "$DATA" || fail "cannot create $DATA"
trap 'rm -f "$DATA"/.making-*' EXIT            # what a failed or interrupted run leaves half written

if [ ! -s "$FULL" ]; then
    if ! command -v bible > /dev/null; then
        { apt-get install -y bible-kjv || { apt-get update && apt-get install -y bible-kjv; }; } > "$DATA/.making-apt.log" 2>&1 \
            || fail "cannot install bible-kjv with apt-get (not root, or no Debian/Ubuntu mirror?): $(tail -n 1 "$DATA/.making-apt.log")"
        command -v bible > /dev/null || fail "bible-kjv is installed but there is no bible command"
    fi
    bible -f "Gen1:1-Rev22:21" > "$DATA/.making-raw" 2> /dev/null || fail "bible -f \"Gen1:1-Rev22:21\" failed"
    sed -E 's/^[0-9A-Za-z]+[0-9]+:[0-9]+ //' "$DATA/.making-raw" > "$DATA/.making-full"
    [ "$(size "$DATA/.making-full")" -gt 4000000 ] \
        || fail "bible printed $(size "$DATA/.making-full") bytes, not the whole Bible (about 4.1 MB)"
    ! grep -qE '^[0-9A-Za-z]+[0-9]+:[0-9]+ ' "$DATA/.making-full" || fail "verse references were left in the text"
    mv "$DATA/.making-full" "$FULL"
fi

if [ ! -f "$SMALL" ] || [ "$(size "$SMALL")" -ne "$SMALL_BYTES" ]; then
    head -c "$SMALL_BYTES" "$FULL" > "$DATA/.making-small"     # the text is ASCII: no character is cut in two
    [ "$(size "$DATA/.making-small")" -eq "$SMALL_BYTES" ] || fail "$FULL is shorter than $SMALL_BYTES bytes"
    mv "$DATA/.making-small" "$SMALL"
fi

# Enough whole copies to pass LARGE_BYTES, cut there, then back to the end of the last whole line.
if [ ! -f "$LARGE" ] || [ "$(size "$LARGE")" -gt "$LARGE_BYTES" ] || [ "$(size "$LARGE")" -lt $((LARGE_BYTES - 100000)) ] \
   || [ -n "$(tail -c 1 "$LARGE")" ]; then
    copies=$(( LARGE_BYTES / $(size "$FULL") + 1 ))
    : > "$DATA/.making-large"
    for _ in $(seq "$copies"); do cat "$FULL" >> "$DATA/.making-large"; done
    truncate -s "$LARGE_BYTES" "$DATA/.making-large"
    if [ -n "$(tail -c 1 "$DATA/.making-large")" ]; then       # ends inside a line: drop that part line
        partial=$(tail -n 1 "$DATA/.making-large" | wc -c | tr -d ' ')
        truncate -s "-$partial" "$DATA/.making-large"
    fi
    mv "$DATA/.making-large" "$LARGE"
fi

echo "make_texts.sh: $FULL ($(size "$FULL") bytes), $SMALL ($(size "$SMALL")), $LARGE ($(size "$LARGE"))" >&2
