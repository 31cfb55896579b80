/*
 * Test set-up for a station without a relay: adds a family with a PIN to a
 * station registry, as the teacher's screen does after joining.
 *
 *   station-fixture STATION_HOME add PIN    prints the new family number
 */
#include <stdio.h>
#include <string.h>

#include "station_registry.h"

int main(int argc, char **argv)
{
    st_registry *reg;
    unsigned number;
    int res;

    if (argc != 4 || strcmp(argv[2], "add") != 0) {
        fprintf(stderr, "usage: station-fixture STATION_HOME add PIN\n");
        return 2;
    }
    if ((res = st_registry_create(argv[1], false, &reg)) < 0) {
        fprintf(stderr, "station-fixture: %s: error %d\n", argv[1], res);
        return 1;
    }
    res = st_registry_add_family(reg, argv[3], &number);
    st_registry_destroy(reg);
    if (res < 0) {
        fprintf(stderr, "station-fixture: add: error %d\n", res);
        return 1;
    }
    printf("%u\n", number);
    return 0;
}
