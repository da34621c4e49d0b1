#!/usr/bin/env bash
# scripts/check-deps.sh, the guard `make test` runs first: on small trees of scripts it fails,
# naming the program and FILE:LINE, when a script runs a program no package in deps.sh's list
# provides — one not installed at all, one hidden behind wrappers, expansions and quoting, one
# that comes only as a dependency of a listed package, the Dockerfile's HEALTHCHECK probe once
# libfcgi-bin is off the list (the bug that made a fresh machine fail), a C test's system() —
# and passes a tree whose words that are not commands (arrays, patterns, here-documents,
# strings) name programs that do not exist.
. "$(dirname "$0")/lib.sh"
e2e_init

# tree NAME: a fixture root with the real deps.sh (its list is what the guard reads).
tree() {
  local t=$E2E_DIR/$1
  mkdir -p "$t/scripts" "$t/tests" "$t/bench"
  cp "$E2E_ROOT/scripts/deps.sh" "$t/scripts/"
  echo "$t"
}
guard() { # ROOT: runs the guard on it; sets OUT and RC
  OUT=$("$E2E_ROOT/scripts/check-deps.sh" --root "$1" 2>&1)
  RC=$?
}
names() { # PROGRAM FILE:LINE: the guard named the program at that place
  if printf '%s\n' "$OUT" | grep -F -- "$2 runs $1" >/dev/null; then pass "named: $1 at $2"; else fail "not named: $1 at $2 in: $OUT"; fi
}

# ---- a clean tree: none of the nosuch-* words is a command -----------------------------------
t=$(tree clean)
cat >"$t/tests/clean.sh" <<'EOF'
#!/usr/bin/env bash
# nosuch-comment
pkgs=(
  nosuch-array1 nosuch-array2 # nosuch-comment2
)
x="nosuch-string" y=nosuch-value
case $1 in
nosuch-pattern1 | nosuch-pattern2) echo "$x" ;;
(nosuch-pattern3) sort ;;
*) case $2 in nosuch-inner) head ;; esac ;;
esac
if [[ $x =~ ^(nosuch-regex)$ && -n $y ]]; then uniq; fi
for ((i = 0; i < 2; i++)); do wc -l </dev/null; done
for f in nosuch-for1 nosuch-for2; do tr a b <<<"$f"; done
cat <<EOT >/dev/null
nosuch-heredoc $(cut -d: -f1 /etc/hostname) ${x}
EOT
cat <<'EOT'
$(nosuch-quoted-heredoc)
EOT
command -v nosuch-lookup >/dev/null
echo nosuch-argument ${1:-{\}} "$(printf '%s' "nosuch-nested")" >nosuch-redirect-target
wait_for() { local t=$1; shift; timeout "$t" "$@"; }
wait_for 5 grep -q nosuch-grep-argument /dev/null
"$BUILD/nosuch-built-binary" --flag
EOF
guard "$t"
expect "a clean tree passes" "$RC" 0
expect_match "and says what it checked" "$OUT" '^check-deps: [0-9]+ programs run by [0-9]+ files'

# ---- programs that are not installed, however they are run -----------------------------------
t=$(tree missing)
cat >"$t/tests/missing.sh" <<'EOF'
#!/usr/bin/env bash
nosuch-plain --flag
x=$(nosuch-in-substitution | sort)
retry() { local n=$1; shift; until "$@"; do sleep "$n"; done; }
retry 1 nosuch-via-function-wrapper arg
timeout 5 env -u A B=1 setsid -w nosuch-via-wrappers
bash -c "nosuch-in-bash-c \"\$1\"" _
trap 'nosuch-in-trap' EXIT
cat <<EOT
$(nosuch-in-heredoc)
EOT
while read -r l; do :; done < <(nosuch-in-process-substitution)
TOOL=(nosuch-in-array -v)
"${TOOL[@]}" x
EOF
mkdir -p "$t/tests/unit"
cat >"$t/tests/unit/test_x.c" <<'EOF'
static int cleanup(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "nosuch-from-c -rf '%s'", dir);
    return system(cmd);
}
EOF
guard "$t"
expect "missing programs fail the guard" "$RC" 1
names nosuch-plain tests/missing.sh:2
names nosuch-in-substitution tests/missing.sh:3
names nosuch-via-function-wrapper tests/missing.sh:5
names nosuch-via-wrappers tests/missing.sh:6
names nosuch-in-bash-c tests/missing.sh:7
names nosuch-in-trap tests/missing.sh:8
names nosuch-in-heredoc tests/missing.sh:10
names nosuch-in-process-substitution tests/missing.sh:12
names nosuch-in-array tests/missing.sh:14
names nosuch-from-c tests/unit/test_x.c:5
expect_match "it says they are not installed" "$OUT" 'nosuch-plain, which is not installed'
expect_match "and how many" "$OUT" 'check-deps: 10 programs not provided'

# ---- installed, but only as a dependency of a listed package ---------------------------------
# gcc is listed; the versioned compiler it pulls in (gcc-12 on Debian 12) is not.
dep=$(basename "$(readlink -f "$(command -v gcc)")")
dep_pkg=$(dpkg-query -S "$(readlink -f "$(command -v gcc)")" 2>/dev/null | cut -d: -f1)
t=$(tree unlisted)
printf '#!/usr/bin/env bash\n%s --version\n' "$dep" >"$t/scripts/unlisted.sh"
guard "$t"
expect "a dependency of a listed package, itself unlisted, fails ($dep)" "$RC" 1
names "$dep" scripts/unlisted.sh:2
expect_match "the message names its package" "$OUT" "package $dep_pkg\\b.*add $dep_pkg to scripts/deps.sh"

# ---- the fresh-machine bug: the HEALTHCHECK probe's cgi-fcgi, libfcgi-bin off the list -------
t=$(tree healthcheck)
mkdir -p "$t/fcgi" "$t/tests/e2e"
cp "$E2E_ROOT/fcgi/Dockerfile" "$t/fcgi/"
cp "$E2E_ROOT/tests/e2e/test_compose.sh" "$E2E_ROOT/tests/e2e/lib.sh" "$t/tests/e2e/"
sed -i 's/ libfcgi-bin / /' "$t/scripts/deps.sh"
line=$(grep -n '^HEALTHCHECK' "$t/fcgi/Dockerfile" | cut -d: -f1)
guard "$t"
expect "without libfcgi-bin in the list the guard fails" "$RC" 1
names cgi-fcgi "fcgi/Dockerfile:$line"
t=$(tree healthcheck-listed) # the same files with the real list
mkdir -p "$t/fcgi" "$t/tests/e2e"
cp "$E2E_ROOT/fcgi/Dockerfile" "$t/fcgi/"
cp "$E2E_ROOT/tests/e2e/test_compose.sh" "$E2E_ROOT/tests/e2e/lib.sh" "$t/tests/e2e/"
guard "$t"
expect "with it, the same files pass" "$RC" 0

# ---- groups: bench/ may use the bench group, tests/ may not ----------------------------------
t=$(tree groups)
printf '#!/usr/bin/env bash\nwrk -t1 -c1 -d1s http://127.0.0.1:1/\n' >"$t/bench/load.sh"
guard "$t"
expect "bench/ may run wrk (the bench group)" "$RC" 0
printf '#!/usr/bin/env bash\nwrk -t1 -c1 -d1s http://127.0.0.1:1/\n' >"$t/tests/load.sh"
guard "$t"
expect "tests/ may not: make test does not install the bench group" "$RC" 1
names wrk tests/load.sh:2

# ---- deps.sh --list ---------------------------------------------------------------------------
base=$("$E2E_ROOT/scripts/deps.sh" --list)
bench=$("$E2E_ROOT/scripts/deps.sh" --list bench)
expect "the base list has libfcgi-bin" "$(printf '%s\n' "$base" | grep -cx libfcgi-bin)" 1
expect "the base list has no wrk" "$(printf '%s\n' "$base" | grep -cx wrk)" 0
expect "the bench list adds wrk, nodejs, npm" "$(printf '%s\n' "$bench" | grep -cxE 'wrk|nodejs|npm')" 3
"$E2E_ROOT/scripts/deps.sh" --list nosuch-group >/dev/null 2>&1
expect "an unknown group is refused" "$?" 2

e2e_finish
