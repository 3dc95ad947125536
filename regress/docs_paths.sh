#!/bin/sh
# docs_paths.sh - every path docs/contributing.md names exists in the tree.
# A path is a `backticked` word with a slash in it (folders may end in /). Prints TAP.
cd "$(dirname "$0")/.." || exit 1
N=0
FAIL=0
# (RPC names such as Coordinator/Sync are not paths; a bare sub-folder such as link/ is one of a
# daemon's folders)
for p in $(grep -o '`[^` ]*/[^` ]*`' docs/contributing.md | tr -d '`' | sed 's/[.,;:]$//' | grep -v '^Coordinator/' | sort -u); do
	N=$((N + 1))
	if [ -e "$p" ] || { case $p in */*/*) false ;; */) ls -d daemons/*/"$p" >/dev/null 2>&1 ;; *) false ;; esac; }; then
		echo "ok $N - docs/contributing.md names $p"
	else
		echo "not ok $N - docs/contributing.md names $p, which does not exist"
		FAIL=1
	fi
done
echo "1..$N"
exit $FAIL
