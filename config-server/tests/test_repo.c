/* test_repo.c — the live repository: reload swaps on content change only, a broken file
 * keeps the previous snapshot and records the error, and lock-free readers racing with
 * many swaps never touch a freed snapshot (run it under the Sanitize build).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "repo/repo.h"

static void write_file(const char *dir, const char *name, const char *text)
{
    char tmp[512], path[512];
    snprintf(tmp, sizeof(tmp), "%s/.tmp", dir);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(rename(tmp, path), 0);
}

typedef struct reader {
    cs_repo_t *repo;
    atomic_int *stop;
    long reads;
} reader_t;

static void *read_loop(void *arg)
{
    reader_t *r = arg;
    while (!atomic_load(r->stop)) {
        unsigned tok;
        const cs_snap_t *s = cs_repo_enter(r->repo, &tok);
        /* touch the whole snapshot */
        const cs_file_t *f = cs_snap_find(cs_snap_label(s, NULL), "app", 1);
        if (f == NULL || f->conf.docs[0].n != 1 || strlen(s->version) != 40)
            abort();
        cs_repo_exit(r->repo, tok);
        r->reads++;
    }
    return NULL;
}

static void test_reload_and_readers(void **state)
{
    (void)state;
    char dir[] = "/tmp/cs-repo-XXXXXX";
    assert_non_null(mkdtemp(dir));
    write_file(dir, "app.yml", "a: 0\n");
    cs_repo_t repo;
    char err[512];
    assert_int_equal(cs_repo_open(&repo, dir, NULL, NULL, err, sizeof(err)), 0);
    assert_int_equal(cs_repo_reload(&repo), 0); /* same content: no swap */

    atomic_int stop = 0;
    reader_t rd[3];
    pthread_t t[3];
    for (int i = 0; i < 3; i++) {
        rd[i] = (reader_t){.repo = &repo, .stop = &stop};
        assert_int_equal(pthread_create(&t[i], NULL, read_loop, &rd[i]), 0);
    }
    for (int i = 1; i <= 60; i++) {
        char text[64];
        snprintf(text, sizeof(text), "a: %d\n", i);
        write_file(dir, "app.yml", text);
        assert_int_equal(cs_repo_reload(&repo), 1);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        assert_true(rd[i].reads > 0);
    }

    /* a broken edit keeps the snapshot and shows on health */
    unsigned tok;
    char before[41];
    memcpy(before, cs_repo_enter(&repo, &tok)->version, sizeof(before));
    cs_repo_exit(&repo, tok);
    write_file(dir, "app.yml", "a: [broken\n");
    assert_int_equal(cs_repo_reload(&repo), -1);
    assert_string_equal(cs_repo_enter(&repo, &tok)->version, before);
    cs_repo_exit(&repo, tok);
    int degraded = 0;
    json_t *h = cs_repo_health(&repo, &degraded);
    assert_true(degraded);
    assert_non_null(
        strstr(json_string_value(json_object_get(json_object_get(h, "lastError"), "message")), "app.yml:"));
    json_decref(h);
    write_file(dir, "app.yml", "a: 1000\n");
    assert_int_equal(cs_repo_reload(&repo), 1);
    h = cs_repo_health(&repo, &degraded);
    assert_false(degraded);
    json_decref(h);

    cs_repo_close(&repo);
    char path[512];
    snprintf(path, sizeof(path), "%s/app.yml", dir);
    unlink(path);
    rmdir(dir);
}

/* A broken file at start-up does not stop the repository from opening: the rest is
 * served, health names it; later edits of other files are still published while it stays
 * broken, but a file that breaks after working keeps the working snapshot. */
static void test_broken_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/cs-repo-XXXXXX";
    assert_non_null(mkdtemp(dir));
    write_file(dir, "app.yml", "a: 0\n");
    write_file(dir, "other.yml", "o: [broken\n");
    cs_repo_t repo;
    char err[512];
    assert_int_equal(cs_repo_open(&repo, dir, NULL, NULL, err, sizeof(err)), 0);
    int degraded = 0;
    json_t *h = cs_repo_health(&repo, &degraded);
    assert_true(degraded);
    json_t *bf = json_array_get(json_object_get(h, "brokenFiles"), 0);
    assert_string_equal(json_string_value(json_object_get(bf, "file")), "other.yml");
    json_decref(h);
    write_file(dir, "app.yml", "a: 1\n"); /* other.yml still broken: published */
    assert_int_equal(cs_repo_reload(&repo), 1);
    write_file(dir, "app.yml", "a: [x\n"); /* app.yml breaks: the working one stays */
    assert_int_equal(cs_repo_reload(&repo), -1);
    unsigned tok;
    const cs_snap_t *s = cs_repo_enter(&repo, &tok);
    assert_null(cs_snap_find(cs_snap_label(s, NULL), "app", 1)->broken);
    cs_repo_exit(&repo, tok);
    write_file(dir, "app.yml", "a: 2\n");
    write_file(dir, "other.yml", "o: 1\n");
    assert_int_equal(cs_repo_reload(&repo), 1);
    h = cs_repo_health(&repo, &degraded);
    assert_false(degraded);
    assert_int_equal(json_array_size(json_object_get(h, "brokenFiles")), 0);
    json_decref(h);
    cs_repo_close(&repo);
    char path[512];
    snprintf(path, sizeof(path), "%s/app.yml", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/other.yml", dir);
    unlink(path);
    rmdir(dir);
}

static void test_open_errors(void **state)
{
    (void)state;
    cs_repo_t repo;
    char err[512];
    assert_int_equal(cs_repo_open(&repo, "/nonexistent-cs-repo", NULL, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/nonexistent-cs-repo"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reload_and_readers),
        cmocka_unit_test(test_broken_files),
        cmocka_unit_test(test_open_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
