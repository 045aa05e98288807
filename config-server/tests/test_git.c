/* test_git.c — unit tests of the git backend's pure parts: the label rules (git/gitlabel),
 * the known_hosts check (git/knownhosts) and the redaction of credentials in remote URIs
 * (git/gitmirror's cs_gitm_redact). The backend on real repositories:
 * it_config_server_git.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "git/gitlabel.h"
#include "git/gitmirror.h"
#include "git/knownhosts.h"

static void test_labels(void **state)
{
    (void)state;
    char why[256];
    const char *good[] = {"main",    "master", "release/1.0", "v1.2.3", "feature/a-b_c",
                          "1a2b3c4", "HEAD",   "x@y",         NULL};
    for (size_t i = 0; good[i] != NULL; i++)
        if (cs_gitlabel_check(good[i], why, sizeof(why)) != 0)
            fail_msg("'%s' refused: %s", good[i], why);
    const char *bad[] = {"",       "HEAD@{1}",   "main@{0}", "a..b",   "../x",
                         "a//b",   ".hidden",    "a/.b",     "-x",     "--upload-pack=x",
                         "x.lock", "a/b.lock/c", "trail.",   "trail/", "a~1",
                         "a^",     "a:b",        "a?b",      "a*b",    "a[b",
                         "a\\b",   "a b",        "a\tb",     NULL};
    for (size_t i = 0; bad[i] != NULL; i++) {
        why[0] = '\0';
        if (cs_gitlabel_check(bad[i], why, sizeof(why)) == 0)
            fail_msg("'%s' accepted", bad[i]);
        assert_true(why[0] != '\0');
    }
    char longl[300];
    memset(longl, 'a', sizeof(longl) - 1);
    longl[sizeof(longl) - 1] = '\0';
    assert_int_equal(cs_gitlabel_check(longl, why, sizeof(why)), -1);

    assert_true(cs_gitlabel_is_hex("abcd"));
    assert_true(cs_gitlabel_is_hex("0123456789abcdef0123456789ABCDEF01234567"));
    assert_false(cs_gitlabel_is_hex("abc"));
    assert_false(cs_gitlabel_is_hex("0123456789abcdef0123456789abcdef012345678"));
    assert_false(cs_gitlabel_is_hex("main"));
    assert_false(cs_gitlabel_is_hex("12345g"));
}

static void test_redact(void **state)
{
    (void)state;
    struct {
        const char *in, *out;
    } v[] = {{"https://user:s3cret@git.example.org/r.git", "https://user:***@git.example.org/r.git"},
             {"https://token@git.example.org/r.git", "https://token@git.example.org/r.git"},
             {"https://git.example.org/r.git", "https://git.example.org/r.git"},
             {"ssh://git@host:2222/r.git", "ssh://git@host:2222/r.git"},
             {"file:///srv/config.git", "file:///srv/config.git"}};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char *r = cs_gitm_redact(v[i].in);
        assert_non_null(r);
        if (strcmp(r, v[i].out) != 0)
            fail_msg("redact(%s) = %s, want %s", v[i].in, r, v[i].out);
        assert_null(strstr(r, "s3cret"));
        free(r);
    }
}

static void test_known_hosts(void **state)
{
    (void)state;
    char path[] = "/tmp/test-khosts-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    /* "AAAA" base64 → 3 bytes 0x00 0x00 0x00; "AQID" → 0x01 0x02 0x03 */
    const char *text = "# comment\n"
                       "|1|hashed=|x= ssh-ed25519 AQID\n"
                       "@revoked other.example.org ssh-ed25519 AQID\n"
                       "git.example.org,alias.example.org ssh-ed25519 AQID\n"
                       "[git.example.org]:2222 ssh-ed25519 AAAA\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    const char k123[] = {1, 2, 3}, k000[] = {0, 0, 0};
    char why[256];
    assert_int_equal(cs_khosts_check(path, "git.example.org", 22, k123, 3, why, sizeof(why)), 0);
    assert_int_equal(cs_khosts_check(path, "alias.example.org", 22, k123, 3, why, sizeof(why)), 0);
    assert_int_equal(cs_khosts_check(path, "git.example.org", 2222, k000, 3, why, sizeof(why)), 0);
    assert_int_equal(cs_khosts_check(path, "git.example.org", 22, k000, 3, why, sizeof(why)), -1);
    assert_int_equal(cs_khosts_check(path, "other.example.org", 22, k123, 3, why, sizeof(why)), -1);
    assert_int_equal(cs_khosts_check(path, "unknown.example.org", 22, k123, 3, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "unknown.example.org"));
    assert_int_equal(
        cs_khosts_check("/nonexistent/known_hosts", "git.example.org", 22, k123, 3, why, sizeof(why)), -1);
    assert_int_equal(cs_khosts_check(path, "alias.example.org", 2222, k123, 3, why, sizeof(why)), -1);
    unlink(path);
    assert_int_equal(cs_khosts_uri_port("ssh://git@host:2222/r.git"), 2222);
    assert_int_equal(cs_khosts_uri_port("ssh://host/r.git"), 22);
    assert_int_equal(cs_khosts_uri_port("ssh://git@[::1]:2200/r.git"), 2200);
    assert_int_equal(cs_khosts_uri_port("git@host:org/r.git"), 22);
    assert_int_equal(cs_khosts_uri_port("https://host:8443/r.git"), 22);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_redact),
        cmocka_unit_test(test_known_hosts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
