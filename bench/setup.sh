#!/usr/bin/env bash
# Installs the reference servers the benchmark compares metalboot with (Debian 12 package names)
# and makes sure none of them runs as a system service: the bench starts its own instances, with
# its own configs, inside network namespaces it creates. Run as root, once:
#   bash bench/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# dnsmasq-base: dnsmasq without the system service; kea-dhcp4-server: ISC Kea; kea-admin: perfdhcp;
# tftpd-hpa: in.tftpd; nginx-light: nginx with sendfile; iproute2: namespaces; linux-perf: `--perf`;
# postgresql: initdb and pg_ctl for the `postgres` scenario (it starts a server of its own).
PACKAGES=(iproute2 dnsmasq-base kea-dhcp4-server kea-admin tftpd-hpa nginx-light curl linux-perf postgresql)
missing=()
for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  # Keep maintainer scripts from starting services (nginx would take port 80, kea port 67 on the
  # host's interfaces): a policy-rc.d that says "no" while apt runs, unless one already exists.
  own_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  trap '[[ $own_policy == 1 ]] && rm -f /usr/sbin/policy-rc.d' EXIT
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Where systemd runs, a package may still have enabled its unit: stop and disable them.
if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
  for unit in nginx kea-dhcp4-server kea-ctrl-agent kea-dhcp6-server kea-dhcp-ddns-server tftpd-hpa dnsmasq postgresql; do
    systemctl disable --now "$unit" >/dev/null 2>&1 || true
  done
fi
# Without systemd, stop instances started from pid files (by pid, never by name).
for pidfile in /run/nginx.pid /run/kea/kea-dhcp4.kea-dhcp4.pid /run/tftpd-hpa.pid; do
  if [[ -s $pidfile ]]; then
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then echo "setup: stopping service pid $pid ($pidfile)"; kill "$pid" || true; fi
  fi
done

for bin in dnsmasq kea-dhcp4 in.tftpd nginx ip; do
  command -v "$bin" >/dev/null || { echo "setup: $bin missing after install" >&2; exit 1; }
done
echo "setup: dnsmasq $(dnsmasq --version | head -1 | awk '{print $3}'), kea-dhcp4 $(kea-dhcp4 -v), nginx $(nginx -v 2>&1 | cut -d/ -f2), $(dpkg-query -W -f='tftpd-hpa ${Version}' tftpd-hpa)"

# Node side: the bench's own dev dependency (autocannon) and metalboot's build.
if [[ ! -d node_modules/autocannon ]]; then npm install --no-audit --no-fund; fi
npm run build --silent
echo "setup: done; run: npm run bench -- all"
