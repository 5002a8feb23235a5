# Sourced by scripts/setup.sh and scripts/interop.sh (which define `log`): installs the Debian
# packages named that are missing, idempotently, retrying once (apt's lock or mirror may be busy).
#   install_debs PKG...    returns non-zero when apt-get failed twice
install_debs() {
  local missing=() d sudo=""
  for d in "$@"; do
    dpkg-query -W -f='${Status}' "$d" 2>/dev/null | grep -q "install ok installed" || missing+=("$d")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  [ "$(id -u)" = 0 ] || sudo="sudo"
  log "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt_install() {
    $sudo apt-get -o DPkg::Lock::Timeout=900 update -qq &&
      $sudo apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  }
  apt_install || { log "apt-get failed once; retrying"; sleep 5; apt_install; }
}
