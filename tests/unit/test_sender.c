/* The pure half of `gcp-emulator send` (tests/emulator/sender_object.c): CRC-32C against the
 * published vectors, the guessed content type, object-name checks, file digests, the CloudEvent
 * attributes and the StorageObjectData body compared whole. The emulator is not in
 * libretrain.a, so its files are compiled in here, as test_emulator_crypto.c does. */
#include "../emulator/sender_object.c"
#include "../emulator/util.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <unistd.h>

/* ---- CRC-32C -------------------------------------------------------------------------- */

/* The check value of the Castagnoli CRC and the iSCSI vectors of RFC 3720, appendix B.4. */
static void test_crc32c_vectors(void **state)
{
    (void)state;
    assert_int_equal(snd_crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(snd_crc32c(0, "", 0), 0);
    unsigned char buf[32];
    memset(buf, 0, sizeof buf);
    assert_int_equal(snd_crc32c(0, buf, sizeof buf), 0x8A9136AAu);
    memset(buf, 0xFF, sizeof buf);
    assert_int_equal(snd_crc32c(0, buf, sizeof buf), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        buf[i] = (unsigned char)i;
    assert_int_equal(snd_crc32c(0, buf, sizeof buf), 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        buf[i] = (unsigned char)(31 - i);
    assert_int_equal(snd_crc32c(0, buf, sizeof buf), 0x113FDB5Cu);
}

/* A file is digested in chunks: continuing a CRC equals computing it in one go. */
static void test_crc32c_continues(void **state)
{
    (void)state;
    uint32_t part = snd_crc32c(0, "1234", 4);
    assert_int_equal(snd_crc32c(part, "56789", 5), 0xE3069283u);
    assert_int_not_equal(snd_crc32c(0, "123456788", 9), 0xE3069283u);
}

/* ---- content type ------------------------------------------------------------------------- */

static void test_content_type(void **state)
{
    (void)state;
    assert_string_equal(snd_content_type("datasets/churn/a.csv"), "text/csv");
    assert_string_equal(snd_content_type("A.CSV"), "text/csv");
    assert_string_equal(snd_content_type("x/data.json"), "application/json");
    assert_string_equal(snd_content_type("datasets/fraud/d.parquet"),
                        "application/vnd.apache.parquet");
    assert_string_equal(snd_content_type("a.tar.gz"), "application/gzip");
    /* No extension, an unknown one, a dot only in a directory, a dotfile's name, a trailing dot. */
    assert_string_equal(snd_content_type("models/x/saved_model.pb"), "application/octet-stream");
    assert_string_equal(snd_content_type("README"), "application/octet-stream");
    assert_string_equal(snd_content_type("v1.2/data"), "application/octet-stream");
    assert_string_equal(snd_content_type("dir/.csv"), "application/octet-stream");
    assert_string_equal(snd_content_type("data."), "application/octet-stream");
}

/* ---- names -------------------------------------------------------------------------------- */

static void test_check_name(void **state)
{
    (void)state;
    assert_int_equal(snd_check_name("datasets/churn/a b.csv"), SND_OK);
    assert_int_equal(snd_check_name("données/été.csv"), SND_OK);
    assert_int_equal(snd_check_name(""), SND_ERR_NAME);
    assert_int_equal(snd_check_name("a\nce-type: x"), SND_ERR_NAME); /* header injection */
    assert_int_equal(snd_check_name("a\rb"), SND_ERR_NAME);
    assert_int_equal(snd_check_name("tab\there"), SND_ERR_NAME);
    assert_int_equal(snd_check_name("del\x7f"), SND_ERR_NAME);
    assert_int_equal(snd_check_name("bad\xff\xfeutf8"), SND_ERR_NAME);
    char longname[1100];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(snd_check_name(longname), SND_ERR_NAME);
    longname[1024] = '\0';
    assert_int_equal(snd_check_name(longname), SND_OK);
    assert_string_equal(snd_status_name(SND_ERR_NAME), "bad_name");
    assert_string_equal(snd_status_name(SND_ERR_IO), "io");
    assert_string_equal(snd_status_name(SND_OK), "ok");
}

/* ---- digests ------------------------------------------------------------------------------ */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

static void test_digest_file(void **state)
{
    (void)state;
    char path[] = "/tmp/test-sender-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_file(path, "123456789");
    snd_object o = {0};
    assert_int_equal(snd_digest_file(path, &o), SND_OK);
    assert_int_equal(o.size, 9);
    assert_int_equal(o.crc32c, 0xE3069283u);
    /* md5("123456789") = 25f9e794323b453885f5181f1b624d0b */
    static const unsigned char md5[16] = {0x25, 0xf9, 0xe7, 0x94, 0x32, 0x3b, 0x45, 0x38,
                                          0x85, 0xf5, 0x18, 0x1f, 0x1b, 0x62, 0x4d, 0x0b};
    assert_memory_equal(o.md5, md5, 16);

    /* An empty object: Cloud Storage's well-known empty digests. */
    write_file(path, "");
    assert_int_equal(snd_digest_file(path, &o), SND_OK);
    assert_int_equal(o.size, 0);
    assert_int_equal(o.crc32c, 0);
    o.bucket = "b", o.name = "e", o.generation = 1, o.metageneration = 1;
    json_t *data = snd_object_data(&o);
    assert_string_equal(json_string_value(json_object_get(data, "md5Hash")),
                        "1B2M2Y8AsgTpgAmY7PhCfg==");
    assert_string_equal(json_string_value(json_object_get(data, "crc32c")), "AAAAAA==");
    json_decref(data);
    unlink(path);

    snd_object untouched = {.size = 42};
    assert_int_equal(snd_digest_file(path, &untouched), SND_ERR_IO);
    assert_int_equal(untouched.size, 42);
}

/* ---- attributes and body ------------------------------------------------------------------ */

static snd_object sample(void)
{
    snd_object o = {.bucket = "acme-data",
                    .name = "datasets/churn/a b.csv",
                    .generation = 1732600000000000,
                    .metageneration = 1,
                    .size = 9,
                    .updated_ms = 1732600000123,
                    .md5 = {0x25, 0xf9, 0xe7, 0x94, 0x32, 0x3b, 0x45, 0x38, 0x85, 0xf5, 0x18, 0x1f,
                            0x1b, 0x62, 0x4d, 0x0b},
                    .crc32c = 0xE3069283u};
    return o;
}

static void test_event_attrs(void **state)
{
    (void)state;
    snd_object o = sample();
    snd_attrs a;
    assert_int_equal(snd_event_attrs(&o, &a), SND_OK);
    assert_string_equal(a.source, "//storage.googleapis.com/projects/_/buckets/acme-data");
    assert_string_equal(a.subject, "objects/datasets/churn/a b.csv");
    assert_string_equal(a.time, "2024-11-26T05:46:40.123Z");
    /* A decimal id, stable for one generation, different for the next one or another name. */
    assert_true(strlen(a.id) > 0 && strlen(a.id) <= 17);
    assert_int_equal(strspn(a.id, "0123456789"), strlen(a.id));
    snd_attrs again;
    assert_int_equal(snd_event_attrs(&o, &again), SND_OK);
    assert_string_equal(a.id, again.id);
    o.generation++;
    assert_int_equal(snd_event_attrs(&o, &again), SND_OK);
    assert_string_not_equal(a.id, again.id);
    o = sample();
    o.name = "datasets/churn/b.csv";
    assert_int_equal(snd_event_attrs(&o, &again), SND_OK);
    assert_string_not_equal(a.id, again.id);
}

static void test_event_attrs_refuses_bad_names(void **state)
{
    (void)state;
    snd_attrs a;
    snd_object o = sample();
    o.name = "x\r\nAuthorization: Bearer y";
    assert_int_equal(snd_event_attrs(&o, &a), SND_ERR_NAME);
    o = sample();
    o.bucket = "";
    assert_int_equal(snd_event_attrs(&o, &a), SND_ERR_NAME);
    char bucket[400]; /* fits the name check, not the ce-source buffer */
    memset(bucket, 'b', sizeof bucket - 1);
    bucket[sizeof bucket - 1] = '\0';
    o = sample();
    o.bucket = bucket;
    assert_int_equal(snd_event_attrs(&o, &a), SND_ERR_NAME);
}

/* The whole body, member for member, against StorageObjectData as Cloud Storage sends it. */
static void test_object_data_whole(void **state)
{
    (void)state;
    snd_object o = sample();
    json_t *got = snd_object_data(&o);
    assert_non_null(got);
    json_error_t jerr;
    json_t *want = json_loads(
        "{\"kind\":\"storage#object\","
        "\"id\":\"acme-data/datasets/churn/a b.csv/1732600000000000\","
        "\"selfLink\":\"https://www.googleapis.com/storage/v1/b/acme-data/o/"
        "datasets%2Fchurn%2Fa%20b.csv\","
        "\"mediaLink\":\"https://storage.googleapis.com/download/storage/v1/b/acme-data/o/"
        "datasets%2Fchurn%2Fa%20b.csv?generation=1732600000000000&alt=media\","
        "\"name\":\"datasets/churn/a b.csv\",\"bucket\":\"acme-data\","
        "\"generation\":\"1732600000000000\",\"metageneration\":\"1\","
        "\"contentType\":\"text/csv\",\"storageClass\":\"STANDARD\",\"size\":\"9\","
        "\"md5Hash\":\"JfnnlDI7RTiF9RgfG2JNCw==\",\"crc32c\":\"4waSgw==\","
        "\"etag\":\"CIDgpvyl+YkDEAE=\","
        "\"timeCreated\":\"2024-11-26T05:46:40.123Z\",\"updated\":\"2024-11-26T05:46:40.123Z\","
        "\"timeStorageClassUpdated\":\"2024-11-26T05:46:40.123Z\"}",
        0, &jerr);
    assert_non_null(want);
    if (!json_equal(got, want)) {
        char *text = json_dumps(got, JSON_SORT_KEYS);
        print_error("got %s\n", text);
        free(text);
        fail();
    }
    json_decref(got);
    json_decref(want);
}

/* The etag is the protobuf pair (1: generation, 2: metageneration): a new metageneration or
 * generation changes it. */
static void test_object_data_etag_tracks_generation(void **state)
{
    (void)state;
    snd_object o = sample();
    o.generation = 1;
    o.metageneration = 2;
    json_t *data = snd_object_data(&o);
    assert_string_equal(json_string_value(json_object_get(data, "etag")), "CAEQAg==");
    assert_string_equal(json_string_value(json_object_get(data, "metageneration")), "2");
    json_decref(data);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c_vectors),
        cmocka_unit_test(test_crc32c_continues),
        cmocka_unit_test(test_content_type),
        cmocka_unit_test(test_check_name),
        cmocka_unit_test(test_digest_file),
        cmocka_unit_test(test_event_attrs),
        cmocka_unit_test(test_event_attrs_refuses_bad_names),
        cmocka_unit_test(test_object_data_whole),
        cmocka_unit_test(test_object_data_etag_tracks_generation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
