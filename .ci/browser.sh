# Sourced by .ci/run: headless Chromium and its driver for the feedback UI's browser tests.
#
# Installs Debian's chromium and chromium-driver when missing (CI runs as root on Debian; the browser
# is never downloaded from anywhere else) and exports TROUPE_REQUIRE_BROWSER=1, so that the browser
# tests fail rather than skip when no browser can be found.

troupe_browser_install() {
  if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    echo "Browser: $(chromium --version 2>/dev/null | head -1), $(chromedriver --version | cut -d' ' -f1-2)"
    export TROUPE_REQUIRE_BROWSER=1
    return 0
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "Browser: installing chromium needs root; run as root or install chromium and chromium-driver" >&2
    return 1
  fi
  local apt_log
  apt_log=$(mktemp)
  echo "Browser: installing the Debian packages chromium and chromium-driver"
  if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      chromium chromium-driver; } >"$apt_log" 2>&1; then
    tail -n 40 "$apt_log" >&2
    echo "Browser: apt-get install chromium chromium-driver failed" >&2
    rm -f "$apt_log"
    return 1
  fi
  rm -f "$apt_log"
  echo "Browser: $(chromium --version 2>/dev/null | head -1), $(chromedriver --version | cut -d' ' -f1-2)"
  export TROUPE_REQUIRE_BROWSER=1
}

troupe_browser_install
