#!/usr/bin/env bash
# test_storage — the emulator's Cloud Storage JSON API v1 subset (tests/emulator/storage.c)
# through curl: simple uploads (uploadType=media), metadata and byte-exact media reads, listing
# with prefix, delimiter and paging, preconditions (ifGenerationMatch), deletes, Google's error
# shapes (400, 401, 404, 412, 413, 429), injected faults by route (503, 429, a dropped
# connection) and the stats that count them.
#
# Starts build/gcp-emulator (or $EMU_BIN) on a free loopback port and stops it on exit, even on
# failure. Prints "ok N - what" / "not ok N - what", then "1..N"; exits 1 when a check failed,
# 2 when the emulator cannot be started. Needs curl, jq, openssl, cmp, head.
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
EMU_BIN=${EMU_BIN:-$ROOT/${BUILD:-build}/gcp-emulator}
STATIC=storage-test-static-token
BUCKET=test-bucket

[ -x "$EMU_BIN" ] || { echo "test_storage: $EMU_BIN not built (make build/gcp-emulator)" >&2; exit 2; }
for tool in curl jq openssl cmp head; do
  command -v "$tool" >/dev/null || { echo "test_storage: $tool is needed" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/test_storage.XXXXXX")
pid=
cleanup() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

: >"$work/emu.out" # before the child opens it, so the loop below never reads a missing file
EMULATOR_STATIC_TOKEN=$STATIC "$EMU_BIN" --port 0 --bind 127.0.0.1 >"$work/emu.out" 2>"$work/emu.err" &
pid=$!
U=
for _ in $(seq 100); do
  U=$(sed -n 's/^gcp-emulator listening on //p' "$work/emu.out")
  [ -n "$U" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$U" ]; then
  echo "test_storage: the emulator did not start" >&2
  cat "$work/emu.err" >&2
  exit 2
fi

# ---- helpers ---------------------------------------------------------------------------------
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { # check WHAT COMMAND...: passes when the command succeeds
  local what=$1
  shift
  if "$@"; then ok "$what"; else not_ok "$what"; fi
}
eq() { [ "$1" = "$2" ] || { echo "#   got '$1', want '$2'" >&2; return 1; }; }

# req ARGS...: curl; the status on stdout, the body in $work/body, the headers in $work/hdr.
req() { curl -s --max-time 30 -o "$work/body" -D "$work/hdr" -w '%{http_code}' "$@"; }
body() { jq -r "$1" "$work/body" 2>/dev/null; }
header() { tr -d '\r' <"$work/hdr" | sed -n "s/^$1: //Ip" | head -1; }
auth=()
upload() { # upload NAME_QUERY_VALUE FILE [CONTENT-TYPE] [EXTRA QUERY]: the status
  req -X POST "${auth[@]}" -H "Content-Type: ${3-application/octet-stream}" \
    --data-binary "@$2" "$U/upload/storage/v1/b/$BUCKET/o?uploadType=media&name=$1${4:+&$4}"
}
get() { req "${auth[@]}" "$U/storage/v1/b/$BUCKET/o/$1"; }
stats() { curl -s --max-time 10 "$U/emulator/stats" | jq -r "$1"; }
faults() { curl -s --max-time 10 -X POST "$U/emulator/faults" -d "$1" | jq -r .ok; }
gcs_error() { # gcs_error CODE REASON: the body is the JSON API's error for them
  eq "$(body '[.error.code, .error.errors[0].reason, .error.errors[0].domain,
               (.error.message == .error.errors[0].message), (.error|has("status"))]|@tsv')" \
    "$(printf '%s\t%s\t%s\ttrue\tfalse' "$1" "$2" "${3:-global}")"
}

# ---- auth -------------------------------------------------------------------------------------
token=$(curl -s --max-time 10 -H "Metadata-Flavor: Google" \
  "$U/computeMetadata/v1/instance/service-accounts/default/token" | jq -r .access_token)
check "a token from the metadata server" eq "${token:0:9}" "ya29.emu-"
auth=(-H "Authorization: Bearer $token")

printf 'id,label\n1,a\n' >"$work/small.csv"
code=$(req -X POST -H "Content-Type: text/csv" --data-binary "@$work/small.csv" \
  "$U/upload/storage/v1/b/$BUCKET/o?uploadType=media&name=noauth.csv")
check "upload without a token: 401" eq "$code" 401
check "401 is the JSON API's error (required, Authorization header)" \
  eq "$(gcs_error 401 required && body '.error.errors[0]|[.locationType,.location]|@tsv')" \
  "$(printf 'header\tAuthorization')"
check "401 names the permission and sends WWW-Authenticate" \
  eq "$(body .error.message | grep -c "storage.objects.create")/$(header WWW-Authenticate | grep -c Bearer)" "1/1"
code=$(req -H "Authorization: Bearer ya29.not-issued" "$U/storage/v1/b/$BUCKET/o/x")
check "a token the emulator never issued: 401 authError" eq "$code/$(body '.error.errors[0].reason')" "401/authError"
code=$(req -H "Authorization: Bearer $STATIC" "$U/storage/v1/b/$BUCKET/o")
check "EMULATOR_STATIC_TOKEN is accepted" eq "$code" 200
check "no token, no list: 401" eq "$(req "$U/storage/v1/b/$BUCKET/o")" 401

# ---- upload and read back ---------------------------------------------------------------------
code=$(upload "data%2Ftrain%20set.csv" "$work/small.csv" text/csv)
check "simple upload: 200" eq "$code" 200
cp "$work/body" "$work/res.json"
gen=$(body .generation)
check "Object resource: kind, name, bucket, id, contentType, storageClass" \
  eq "$(body '[.kind,.name,.bucket,.id,.contentType,.storageClass]|@tsv')" \
  "$(printf 'storage#object\tdata/train set.csv\t%s\t%s/data/train set.csv/%s\ttext/csv\tSTANDARD' "$BUCKET" "$BUCKET" "$gen")"
check "int64 members are strings: generation, metageneration 1, size" \
  eq "$(body '[(.generation|type), (.generation|test("^[0-9]{16}$")), .metageneration, .size]|@tsv')" \
  "$(printf 'string\ttrue\t1\t%s' "$(wc -c <"$work/small.csv" | tr -d ' ')")"
check "timeCreated and updated are RFC 3339 with ms, Z" \
  eq "$(body '[.timeCreated,.updated]|map(test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$"))|all')" true
check "md5Hash is base64 of the MD5" eq "$(body .md5Hash)" "$(openssl md5 -binary "$work/small.csv" | base64)"
check "selfLink and mediaLink point at the emulator, the name percent-encoded" \
  eq "$(body '[.selfLink,.mediaLink]|@tsv')" \
  "$(printf '%s/storage/v1/b/%s/o/data%%2Ftrain%%20set.csv\t%s/download/storage/v1/b/%s/o/data%%2Ftrain%%20set.csv?generation=%s&alt=media' "$U" "$BUCKET" "$U" "$BUCKET" "$gen")"

printf '123456789' >"$work/check.txt"
upload check.txt "$work/check.txt" >/dev/null
check "crc32c is base64 of the big-endian CRC-32C (123456789 -> E3069283)" eq "$(body .crc32c)" "4waSgw=="
req -X POST "${auth[@]}" -H "Content-Type:" --data-binary "@$work/check.txt" \
  "$U/upload/storage/v1/b/$BUCKET/o?uploadType=media&name=untyped" >/dev/null
check "no Content-Type: application/octet-stream" eq "$(body .contentType)" application/octet-stream

code=$(get "data%2Ftrain%20set.csv")
check "objects.get: the metadata, as the upload answered" eq "$code/$(jq -S . "$work/body")" "200/$(jq -S . "$work/res.json")"
code=$(get "data%2Ftrain%20set.csv?generation=$gen")
check "objects.get with the live generation: 200" eq "$code" 200
code=$(get "data%2Ftrain%20set.csv?generation=1")
check "objects.get with another generation: 404" eq "$code" 404

head -c 3000000 /dev/urandom >"$work/blob.bin" # over the 1 MiB every other route takes, with NULs
code=$(upload "blobs%2Fone.bin" "$work/blob.bin" "application/x-test; v=1")
check "a 3 MB binary upload: 200, size right" eq "$code/$(body .size)" "200/3000000"
blob_res=$(cat "$work/body")
blob_media=$(body .mediaLink)
code=$(get "blobs%2Fone.bin?alt=media")
check "alt=media: the bytes, exactly" cmp -s "$work/body" "$work/blob.bin"
check "alt=media: the stored Content-Type, X-Goog-Generation, X-Goog-Stored-Content-Length" \
  eq "$code|$(header Content-Type)|$(header X-Goog-Generation)|$(header X-Goog-Stored-Content-Length)" \
  "200|application/x-test; v=1|$(jq -r .generation <<<"$blob_res")|3000000"
hash=$(header X-Goog-Hash)
check "X-Goog-Hash carries the MD5 and CRC-32C" \
  eq "${hash##*md5=}/$(grep -c '^crc32c=.*,md5=' <<<"$hash")" "$(openssl md5 -binary "$work/blob.bin" | base64)/1"
req "${auth[@]}" "$blob_media" >/dev/null
check "the mediaLink serves the bytes" cmp -s "$work/body" "$work/blob.bin"

head -c $((32 * 1024 * 1024 + 1)) /dev/zero >"$work/huge.bin"
code=$(upload huge.bin "$work/huge.bin")
check "an upload over 32 MiB: 413 uploadTooLarge" eq "$code/$(body '.error.errors[0].reason')" "413/uploadTooLarge"
code=$(get huge.bin)
check "... and nothing stored" eq "$code" 404

code=$(get "no%2Fsuch%20object")
check "unknown object: 404 notFound" eq "$code/$(gcs_error 404 notFound && body .error.message)" \
  "404/No such object: $BUCKET/no/such object"

# ---- preconditions ----------------------------------------------------------------------------
code=$(upload once.txt "$work/check.txt" text/plain ifGenerationMatch=0)
check "ifGenerationMatch=0 on a new name: 200" eq "$code" 200
once_gen=$(body .generation)
code=$(upload once.txt "$work/check.txt" text/plain ifGenerationMatch=0)
check "ifGenerationMatch=0 again: 412 conditionNotMet" eq "$code" 412
check "412 is the JSON API's error" gcs_error 412 conditionNotMet
code=$(upload once.txt "$work/small.csv" text/csv "ifGenerationMatch=$once_gen")
new_gen=$(body .generation)
check "ifGenerationMatch=<live generation>: 200, a later generation, metageneration 1" \
  eq "$code/$([ "$new_gen" -gt "$once_gen" ] && echo later)/$(body .metageneration)" "200/later/1"
code=$(upload once.txt "$work/check.txt" text/plain "ifGenerationMatch=$once_gen")
check "ifGenerationMatch=<replaced generation>: 412" eq "$code" 412
get "once.txt?alt=media" >/dev/null
check "the object is the last accepted upload" cmp -s "$work/body" "$work/small.csv"
code=$(upload nothere.txt "$work/check.txt" text/plain ifGenerationMatch=5)
check "ifGenerationMatch=N on an absent object: 412" eq "$code" 412
code=$(upload once.txt "$work/check.txt" text/plain ifGenerationMatch=abc)
check "ifGenerationMatch=abc: 400" eq "$code/$(body '.error.errors[0].location')" "400/ifGenerationMatch"
code=$(get "once.txt?ifGenerationNotMatch=$new_gen")
check "objects.get ifGenerationNotMatch=<live>: 304" eq "$code" 304

# ---- bad requests -----------------------------------------------------------------------------
code=$(req -X POST "${auth[@]}" --data-binary "@$work/check.txt" "$U/upload/storage/v1/b/$BUCKET/o?uploadType=media")
check "upload without name: 400 required" eq "$code/$(body '.error.errors[0]|[.reason,.location]|@tsv')" \
  "400/$(printf 'required\tname')"
code=$(req -X POST "${auth[@]}" --data-binary "@$work/check.txt" "$U/upload/storage/v1/b/$BUCKET/o?uploadType=media&name=")
check "upload with an empty name: 400" eq "$code" 400
code=$(upload "bad%0Aname" "$work/check.txt")
check "a name with a line feed: 400 invalid" eq "$code/$(body '.error.errors[0].reason')" "400/invalid"
code=$(upload "$(head -c 1025 /dev/zero | tr '\0' a)" "$work/check.txt")
check "a name of 1025 bytes: 400" eq "$code" 400
code=$(upload "%FF%FE" "$work/check.txt")
check "a name that is not UTF-8: 400" eq "$code" 400
code=$(upload "$(head -c 1024 /dev/zero | tr '\0' b)" "$work/check.txt")
check "a name of 1024 bytes: 200" eq "$code" 200
code=$(req -X POST "${auth[@]}" --data-binary "@$work/check.txt" \
  "$U/upload/storage/v1/b/$BUCKET/o?uploadType=multipart&name=x")
check "uploadType=multipart: 400 naming the supported one" \
  eq "$code/$(body .error.message | grep -c 'uploadType=media')/$(body '.error.errors[0].location')" "400/1/uploadType"
code=$(req -X POST "${auth[@]}" --data-binary "@$work/check.txt" "$U/upload/storage/v1/b/$BUCKET/o?name=x")
check "no uploadType: 400 wrongUrlForUpload" eq "$code/$(body '.error.errors[0].reason')" "400/wrongUrlForUpload"
code=$(req -X POST "${auth[@]}" --data-binary "@$work/check.txt" \
  "$U/upload/storage/v1/b/Bad_Bucket/o?uploadType=media&name=x")
check "an invalid bucket name: 400" eq "$code/$(body .error.message)" "400/Invalid bucket name: 'Bad_Bucket'"
code=$(get "once.txt?alt=xml")
check "alt=xml: 400" eq "$code" 400

# ---- list -------------------------------------------------------------------------------------
BUCKET=list-bucket
for name in a/3 a/1 b/1 a/5 top a/2 a/4; do
  upload "${name//\//%2F}" "$work/check.txt" >/dev/null
done
code=$(req "${auth[@]}" "$U/storage/v1/b/$BUCKET/o?prefix=a/")
check "list prefix=a/: storage#objects, sorted by name" \
  eq "$code/$(body '[.kind, (.items|map(.name)|join(",")), has("nextPageToken")]|@tsv')" \
  "200/$(printf 'storage#objects\ta/1,a/2,a/3,a/4,a/5\tfalse')"
check "listed items are Object resources" eq "$(body '.items[0]|[.kind,.size,.bucket]|@tsv')" \
  "$(printf 'storage#object\t9\t%s' "$BUCKET")"
names=
url="$U/storage/v1/b/$BUCKET/o?prefix=a/&maxResults=2"
pages=0
while :; do
  req "${auth[@]}" "$url" >/dev/null
  pages=$((pages + 1))
  names="$names$(body '.items|map(.name)|join(",")'),"
  next=$(body '.nextPageToken // empty')
  if [ -z "$next" ] || [ "$pages" -ge 10 ]; then break; fi
  url="$U/storage/v1/b/$BUCKET/o?prefix=a/&maxResults=2&pageToken=$next"
done
check "maxResults=2 pages: 3 pages, every name once, in order" eq "$pages/$names" "3/a/1,a/2,a/3,a/4,a/5,"
code=$(req "${auth[@]}" "$U/storage/v1/b/$BUCKET/o?delimiter=/")
check "delimiter=/: prefixes and the top-level items" \
  eq "$code/$(body '[(.prefixes|join(",")), (.items|map(.name)|join(","))]|@tsv')" "200/$(printf 'a/,b/\ttop')"
code=$(req "${auth[@]}" "$U/storage/v1/b/$BUCKET/o?delimiter=/&maxResults=1")
p1=$(body '[(.prefixes // [])[], (.items // [])[].name]|join(",")')
req "${auth[@]}" "$U/storage/v1/b/$BUCKET/o?delimiter=/&maxResults=1&pageToken=$(body .nextPageToken)" >/dev/null
p2=$(body '[(.prefixes // [])[], (.items // [])[].name]|join(",")')
check "delimiter pages: a prefix counts as one entry" eq "$p1|$p2" "a/|b/"
code=$(req "${auth[@]}" "$U/storage/v1/b/empty-bucket/o")
check "an empty bucket lists no items" eq "$code/$(jq -c . "$work/body")" '200/{"kind":"storage#objects"}'
seq -w 1 40 | xargs -P 8 -I{} curl -s --max-time 30 -o /dev/null -X POST "${auth[@]}" \
  --data-binary "@$work/small.csv" "$U/upload/storage/v1/b/parallel-bucket/o?uploadType=media&name=p{}"
req "${auth[@]}" "$U/storage/v1/b/parallel-bucket/o" >/dev/null
check "40 uploads 8 at a time: all stored, listed in order" \
  eq "$(body '.items|map(.name)|[length, (. == sort)]|@tsv')" "$(printf '40\ttrue')"
check "maxResults=abc: 400" eq "$(req "${auth[@]}" "$U/storage/v1/b/$BUCKET/o?maxResults=abc")" 400
check "a page token not issued: 400" eq "$(req "${auth[@]}" "$U/storage/v1/b/$BUCKET/o?pageToken=%21%21")" 400

# ---- faults -----------------------------------------------------------------------------------
BUCKET=fault-bucket
before=$(stats '.attempts["storage.objects.insert"]')
check "fault knob: the next 2 uploads answer 503" \
  eq "$(faults '{"rate_503":1,"routes":"storage.objects.insert","limit":2}')" true
c1=$(upload retry.txt "$work/check.txt" text/plain)
check "injected 503 is the JSON API's backendError" eq "$c1/$(gcs_error 503 backendError && echo shape)" "503/shape"
c2=$(upload retry.txt "$work/check.txt" text/plain)
check "... nothing stored by the refused uploads" eq "$c2/$(get retry.txt)" "503/404"
c3=$(upload retry.txt "$work/check.txt" text/plain)
check "the third upload succeeds" eq "$c3/$(get retry.txt)" "200/200"
check "stats: attempts and faults counted per route" \
  eq "$(( $(stats '.attempts["storage.objects.insert"]') - before ))/$(stats '.faults_by_route["storage.objects.insert"]')/$(stats '.requests["fault.503"]')" "3/2/2"
faults '{"rate_429":1,"routes":["storage.objects.get"],"limit":1}' >/dev/null
c1=$(get retry.txt)
check "injected 429 on reads: rateLimitExceeded (usageLimits)" eq "$c1/$(gcs_error 429 rateLimitExceeded usageLimits && echo shape)" "429/shape"
check "... then reads pass" eq "$(get retry.txt)" 200
faults '{"drop_rate":1,"routes":"storage.objects.insert","limit":1}' >/dev/null
code=$(upload dropped.txt "$work/check.txt")
check "drop_rate: the upload gets no answer" eq "$code/$(get dropped.txt)" "000/404"
check "... and the next one is stored" eq "$(upload dropped.txt "$work/check.txt")" 200
faults '{"drop_after_rate":1,"routes":"storage.objects.insert","limit":1}' >/dev/null
code=$(upload after.txt "$work/check.txt")
check "drop_after_rate: no answer, but the upload is stored" eq "$code/$(get after.txt)" "000/200"
BUCKET=test-bucket
faults '{"truncate_rate":1,"routes":"storage.objects.get","limit":1}' >/dev/null
code=$(get "blobs%2Fone.bin?alt=media")
check "truncate_rate on a media read: 200 with the first half of the bytes" \
  eq "$code/$(wc -c <"$work/body" | tr -d ' ')/$(head -c 1500000 "$work/blob.bin" | cmp -s - "$work/body" && echo same)" "200/1500000/same"
BUCKET=fault-bucket
faults '{"rate_503":1}' >/dev/null
check "without routes or paths, faults keep to /v1/: uploads pass" eq "$(upload other.txt "$work/check.txt")" 200
faults '{"rate_503":1,"paths":"/upload/storage/"}' >/dev/null
check "paths=/upload/storage/ takes uploads, not reads" eq "$(upload other.txt "$work/check.txt")/$(get other.txt)" "503/200"
faults '{}' >/dev/null

# ---- delete -----------------------------------------------------------------------------------
code=$(req -X DELETE "${auth[@]}" "$U/storage/v1/b/$BUCKET/o/retry.txt?ifGenerationMatch=1")
check "delete with a wrong ifGenerationMatch: 412" eq "$code" 412
code=$(req -X DELETE "${auth[@]}" "$U/storage/v1/b/$BUCKET/o/retry.txt")
check "delete: 204, empty" eq "$code/$(wc -c <"$work/body" | tr -d ' ')" "204/0"
check "deleted object: 404" eq "$(get retry.txt)" 404
check "delete again: 404" eq "$(req -X DELETE "${auth[@]}" "$U/storage/v1/b/$BUCKET/o/retry.txt")" 404
check "delete without a token: 401" eq "$(req -X DELETE "$U/storage/v1/b/$BUCKET/o/other.txt")" 401

# ---- stats, bounds, reset, revoked tokens -----------------------------------------------------
check "stats: storage counters" \
  eq "$(stats '.storage|[(.objects > 0), (.bytes > 3000000), (.inserted > 10), .deleted, (.preconditionFailed >= 4), .refusedFull]|@tsv')" \
  "$(printf 'true\ttrue\ttrue\t1\ttrue\t0')"
check "stats: requests by route, unauthenticated apart" \
  eq "$(stats '[.requests["storage.objects.delete"], (.requests["storage.unauthenticated"] >= 4)]|@tsv')" "$(printf '3\ttrue')"
objects=$(stats .storage.objects)
curl -s -X POST "$U/emulator/config" -d "{\"storage_max_objects\":$objects}" >/dev/null
code=$(upload full.txt "$work/check.txt")
check "storage_max_objects reached: a new object is 429" eq "$code/$(stats .storage.refusedFull)" "429/1"
check "... an existing one can still be replaced" eq "$(upload other.txt "$work/check.txt")" 200
check "config refuses a negative bound" eq "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$U/emulator/config" -d '{"storage_max_bytes":-1}')" 400
curl -s -X POST "$U/emulator/reset" >/dev/null
check "reset: no objects, counters zero" eq "$(stats '.storage|[.objects,.bytes,.inserted]|@tsv')" "$(printf '0\t0\t0')"
check "reset revokes the tokens" eq "$(get other.txt)" 401
token=$(curl -s --max-time 10 -H "Metadata-Flavor: Google" \
  "$U/computeMetadata/v1/instance/service-accounts/default/token" | jq -r .access_token)
auth=(-H "Authorization: Bearer $token")
check "reset: the bounds are back (a new object is stored)" eq "$(upload full.txt "$work/check.txt")" 200
curl -s -X POST "$U/emulator/oauth/revoke-all" >/dev/null
check "a revoked token: 401" eq "$(get full.txt)" 401

kill -TERM "$pid"
wait "$pid"
rc=$?
pid=
check "the emulator exits 0 on SIGTERM (clean under sanitizers too)" eq "$rc" 0
grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error' "$work/emu.err" | sed 's/^/#   /' | head -20

echo "1..$n"
if [ "$failed" -ne 0 ]; then
  echo "# $failed of $n checks failed"
  exit 1
fi
echo "# all $n checks passed"
