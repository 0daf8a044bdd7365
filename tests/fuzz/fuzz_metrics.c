/* libFuzzer target: the strict reader of a run's metrics.json that
 * nn_compare and the trainers' --sweep use (examples/report/metrics_json.c). Any
 * input is read or refused with a message naming the file; what is read is
 * within the format's bounds, and a refusal leaves the result empty. */
#include "compare.h"
#include "fuzz_util.h"

#include <math.h>
#include <string.h>

/* What metrics_parse promises about a file it read. */
static void check_read(const run_metrics *m)
{
    FUZZ_CHECK(m->model && m->storage && m->epochs);
    FUZZ_CHECK(m->epoch_count >= 1 && m->epoch_count <= m->planned_epochs);
    FUZZ_CHECK(m->classes >= 1 && m->classes <= 256);
    FUZZ_CHECK(m->settings.count >= 0 && m->settings.count <= REPORT_MAX_SETTINGS);
    FUZZ_CHECK(m->test_accuracy >= 0 && m->test_accuracy <= 1);
    for (int i = 0; i < m->settings.count; i++)
        FUZZ_CHECK(m->settings.key[i] && m->settings.value[i]);
    for (int i = 0; i < m->epoch_count; i++) {
        const metrics_epoch *e = &m->epochs[i];
        FUZZ_CHECK(e->epoch == m->first_epoch + i + 1);
        FUZZ_CHECK(e->train_accuracy >= 0 && e->train_accuracy <= 1);
        FUZZ_CHECK(e->test_accuracy >= 0 && e->test_accuracy <= 1);
        FUZZ_CHECK(isfinite(e->train_loss) && isfinite(e->test_loss));
    }
    FUZZ_CHECK(!m->finished ||
               m->epochs[m->epoch_count - 1].epoch == m->planned_epochs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const run_metrics empty;
    run_metrics m;
    char msg[512] = "";
    if (metrics_parse((const char *)data, size, "fuzz.json", &m, msg,
                      sizeof msg)) {
        check_read(&m);
        metrics_free(&m);
        FUZZ_CHECK(memcmp(&m, &empty, sizeof m) == 0);
    } else {
        FUZZ_CHECK(strncmp(msg, "fuzz.json: ", 11) == 0);
        FUZZ_CHECK(memcmp(&m, &empty, sizeof m) == 0);
    }
    return 0;
}
