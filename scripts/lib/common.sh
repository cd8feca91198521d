# Shared helpers for FaceGate's scripts (sourced, not run).
#
# The project's Python environment is .venv at the repository root, with Python >= 3.14.2
# (current Home Assistant needs it). It is one of two kinds, written to .venv/facegate-env:
#   host   - made from a suitable python3.14+ found on PATH; commands run directly;
#   chroot - this machine's Python is too old, so scripts/setup provisioned Debian's python3.14
#            in a Debian chroot (FACEGATE_ROOT) from the Debian mirror alone; commands run in it,
#            with the repository (and ../shared, if present) mounted at the same paths as here.

PROJECT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VENV_DIR="$PROJECT_DIR/.venv"
ENV_FILE="$VENV_DIR/facegate-env"
FACEGATE_ROOT=${FACEGATE_ROOT:-/opt/facegate-py314}
MIN_PYTHON=(3 14 2)

log() { printf '[%s %s] %s\n' "$(basename "$0")" "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

# Prints the path of a python >= MIN_PYTHON on PATH, if any.
find_host_python() {
  local candidate
  for candidate in python3.14 python3.15 python3.16 python3 python; do
    command -v "$candidate" >/dev/null 2>&1 || continue
    if "$candidate" -c "import sys; sys.exit(sys.version_info[:3] < (${MIN_PYTHON[0]}, ${MIN_PYTHON[1]}, ${MIN_PYTHON[2]}))" 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

env_kind() {  # host | chroot | none
  if [ -f "$ENV_FILE" ]; then cat "$ENV_FILE"; else echo none; fi
}

# Runs a command with the project's venv first on PATH, in the current directory.
in_env() {
  case "$(env_kind)" in
    host)
      PATH="$VENV_DIR/bin:$PATH" VIRTUAL_ENV="$VENV_DIR" "$@" ;;
    chroot)
      [ "$(id -u)" = 0 ] || die "the chroot environment needs root (chroot and mount)"
      # A private mount namespace: the mounts vanish with the command, and runs side by side
      # (a test run next to scripts/develop) cannot unmount each other's.
      unshare --mount --propagation private -- \
        bash "$PROJECT_DIR/scripts/lib/enter-root" "$FACEGATE_ROOT" "$PROJECT_DIR" "$VENV_DIR" "$PWD" "$@" ;;
    *)
      die "no environment yet: run scripts/setup first" ;;
  esac
}
