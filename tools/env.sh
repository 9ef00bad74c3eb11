# Project-local environment for every medchain tool. Sourced by the Makefile, by
# tools/bootstrap.sh and by .venv/bin/activate: nothing lands in the home directory.
MEDCHAIN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
export MEDCHAIN_ROOT
export MEDCHAIN_HOME="${MEDCHAIN_HOME:-$MEDCHAIN_ROOT/.medchain}"
export APE_DATA_FOLDER="$MEDCHAIN_HOME/ape"
export SOLCX_BINARY_PATH="$MEDCHAIN_HOME/solcx"
case ":$PATH:" in
  *":$MEDCHAIN_ROOT/node_modules/.bin:"*) ;;
  *) export PATH="$MEDCHAIN_ROOT/.venv/bin:$MEDCHAIN_ROOT/node_modules/.bin:$PATH" ;;
esac
