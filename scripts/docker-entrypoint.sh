#!/bin/sh
# Entrypoint of the metalboot image (tini, PID 1, runs this; see Dockerfile and docker-compose.yml).
#
# Started as root (the image's default user):
#   bind mounts replace the image's data and assets directories and their ownership, so create them
#   and give them (what is not already theirs) to the unprivileged user — `node`, or PUID/PGID — then
#   run this script again as that user with setpriv. node keeps the file capabilities the image
#   gives it (ports below 1024, raw sockets) as long as the container's bounding set holds them
#   (compose cap_add) and no-new-privileges is not set.
# Started as another user (compose `user:`): nothing is chowned; the directories must be writable.
#
# Then, for `serve`: when <assets>/ipxe has neither undionly.kpxe nor ipxe.efi (a new volume), copy
# the iPXE binaries from Debian's ipxe package (`metalboot assets pull ipxe`; METALBOOT_IPXE_MIRROR
# downloads instead), and exec metalboot so that tini's SIGTERM reaches node itself.
#
# The directories are METALBOOT_DATA_DIR and METALBOOT_ASSETS_DIR (the image sets both); pass any
# other location through those variables, not through --data-dir / --assets-dir.
set -eu

app=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
data=${METALBOOT_DATA_DIR:-data}
assets=${METALBOOT_ASSETS_DIR:-assets}

log() { printf 'docker-entrypoint: %s\n' "$*" >&2; }

[ "$#" -gt 0 ] || set -- serve

if [ "$(id -u)" = 0 ] && [ "${PUID:-}" != 0 ]; then
  uid=${PUID:-$(id -u node 2>/dev/null || true)}
  if [ -z "$uid" ]; then
    log 'error: no user "node" in this image: set PUID (and PGID) to the uid:gid metalboot runs as'
    exit 1
  fi
  gid=${PGID:-$(id -g "$uid" 2>/dev/null || echo "$uid")}
  case "$uid$gid" in *[!0-9]*)
    log "error: PUID/PGID must be numeric (got $uid:$gid)"
    exit 1
  esac

  for dir in "$data" "$assets"; do
    if [ ! -d "$dir" ]; then
      mkdir -p -- "$dir"
      taken=yes
    elif [ "$(stat -c %u -- "$dir")" != "$uid" ]; then
      taken=yes
    else
      taken=no
    fi
    # Only what is not already theirs: a restart does not walk large assets through chown again.
    if ! find "$dir" -xdev \( ! -user "$uid" -o ! -group "$gid" \) -exec chown -h "$uid:$gid" {} +; then
      log "warning: cannot give everything in $dir to $uid:$gid (rootless Docker, NFS root_squash?): make it writable by $uid on the host"
    fi
    # The database holds every cluster's secrets: a data directory taken over (or created) here gets
    # the 0700 that metalboot gives one it creates itself.
    if [ "$dir" = "$data" ] && [ "$taken" = yes ]; then
      chmod go-rwx -- "$dir" || true
    fi
  done

  HOME=$(getent passwd "$uid" | cut -d: -f6 || true)
  HOME=${HOME:-/tmp}
  export HOME
  exec setpriv --reuid="$uid" --regid="$gid" --clear-groups --inh-caps=-all -- /bin/sh "$0" "$@"
fi

if [ "$1" = serve ]; then
  if [ -d "$data" ] && [ ! -w "$data" ]; then
    log "error: $data is not writable by uid $(id -u): start the container as root (the image's default), or chown it on the host"
    exit 1
  fi
  ipxe=$assets/ipxe
  if [ ! -e "$ipxe/undionly.kpxe" ] && [ ! -e "$ipxe/ipxe.efi" ]; then
    log "$ipxe has no iPXE binaries yet: metalboot assets pull ipxe"
    node "$app/dist/cli/main.js" assets pull ipxe --assets-dir "$assets" ||
      log "warning: assets pull ipxe failed; TFTP and HTTP have no iPXE binaries to serve until it succeeds (docker compose run --rm metalboot assets pull ipxe)"
  elif [ ! -e "$ipxe/undionly.kpxe" ] || [ ! -e "$ipxe/ipxe.efi" ]; then
    log "warning: $ipxe has only some iPXE binaries; left as they are (docker compose run --rm metalboot assets pull ipxe replaces them with Debian's)"
  fi
fi

exec node "$app/dist/cli/main.js" "$@"
