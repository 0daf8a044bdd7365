/* The trainers' overfitting warning (examples/report/diagnostics.c) on made-up
 * epoch records: raised once the test loss has risen for 3 epochs while
 * the train loss fell, not for a noisy test loss or a rise of 2 epochs.
 * The other warnings come from real runs in tests/test_cli.sh. */
#include "gradcheck.h"

#include <string.h>

#include "diagnostics.h"

/* Records of train and test losses, epoch after epoch. */
static int warnings_after(const double *train, const double *test, int epochs)
{
    diag_run d;
    nn_dataset data;
    nn_net *net = NULL;
    report_epoch records[16];
    int said = 0;
    memset(records, 0, sizeof records);
    memset(&d, 0, sizeof d);
    tu_make_dataset(&data, 8, 4, 3, 1);
    assert_nn_ok(nn_net_create(1, 4, 4, &net));
    assert_nn_ok(nn_net_add_dense(net, 3));
    assert_nn_ok(nn_net_build(net, 4, 1));
    assert_true(diag_init(&d, net, &data, epochs));
    for (int e = 0; e < epochs; e++) {
        records[e].train.train_loss = train[e];
        records[e].test_loss = test[e];
        said += diag_check(&d, net, records, 0, e, 3, NULL);
    }
    for (int i = 0; i < d.warning_count; i++)
        assert_int_equal(d.warnings[i].kind, DIAG_OVERFITTING);
    if (d.warning_count)
        print_message("  %s\n", d.warnings[0].text);
    diag_free(&d);
    nn_net_destroy(net);
    nn_dataset_free(&data);
    return said;
}

static void test_overfitting_is_said_once(void **state)
{
    static const double train[] = {0.9, 0.6, 0.4, 0.3, 0.2, 0.1, 0.05};
    static const double test[] = {0.9, 0.7, 0.6, 0.65, 0.7, 0.8, 0.9};
    (void)state;
    assert_int_equal(warnings_after(train, test, 7), 1);
}

static void test_no_overfitting_on_noise_or_a_short_rise(void **state)
{
    static const double train[] = {0.9, 0.6, 0.4, 0.3, 0.2, 0.1, 0.05};
    static const double noisy[] = {0.9, 0.7, 0.75, 0.6, 0.65, 0.55, 0.6};
    static const double short_rise[] = {0.9, 0.7, 0.6, 0.65, 0.7, 0.6, 0.5};
    (void)state;
    assert_int_equal(warnings_after(train, noisy, 7), 0);
    assert_int_equal(warnings_after(train, short_rise, 7), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overfitting_is_said_once),
        cmocka_unit_test(test_no_overfitting_on_noise_or_a_short_rise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
