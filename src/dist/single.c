/* single.c - fv_dist_init and friends (fovea.h) in a build without MPI (CMake compiles mpi.c
 * instead when it finds MPI): the process is always the only one. Started by mpirun as one of
 * several ranks it refuses to run, since each copy would otherwise train the whole job alone. */
#include "core/dist.h"
#include "core/internal.h"

#include <stdlib.h>

fv_status fv_dist_init(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    const char *n = getenv("OMPI_COMM_WORLD_SIZE");
    if (!n)
        n = getenv("PMI_SIZE");
    if (n && atoi(n) > 1)
        return fv_err(FV_ERR_STATE, "started as one of %s MPI ranks, but this fovea was built "
                      "without MPI (install libopenmpi-dev and rebuild)", n);
    return FV_OK;
}

void fv_dist_finalize(void)
{
}

void fv_dist_abort(int code)
{
    (void)code;
}

int fv_dist_available(void)
{
    return 0;
}
