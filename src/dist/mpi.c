/* mpi.c - the data-parallel communicator over MPI (core/dist.h's table), and fv_dist_init and
 * friends (fovea.h). Compiled only when CMake finds MPI (single.c otherwise); the one file of the
 * library that includes mpi.h. The job's processes talk on a duplicate of MPI_COMM_WORLD with
 * MPI_ERRORS_RETURN, so a failed collective (a rank that died, a broken link) comes back as a
 * status with a message naming this rank and the operation, instead of MPI's default abort. */
#include "core/dist.h"
#include "core/internal.h"

#include <mpi.h>
#include <stdlib.h>

static MPI_Comm comm = MPI_COMM_NULL;
static MPI_Request pending[FV_DIST_MAX_PENDING];
static int npending, we_initialized;
static fv_comm_ops ops;

/* Records a failed call (sticky, fv_dist_error) and returns -1. */
static int failed(const char *what, int rc)
{
    char s[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    MPI_Error_string(rc, s, &len);
    fv_dist_fail("rank %d of %d: %s failed (%s): another rank of the job stopped or the network "
                 "failed", ops.rank, ops.size, what, s);
    return -1;
}

static int sum_f64(double *buf, int64_t n)
{
    int rc = MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_DOUBLE, MPI_SUM, comm);
    return rc == MPI_SUCCESS ? 0 : failed("MPI_Allreduce", rc);
}

static int start_sum_f32(float *buf, int64_t n, int slot)
{
    if (slot != npending || slot >= FV_DIST_MAX_PENDING)
        return fv_dist_fail("rank %d: gradient request %d out of order", ops.rank, slot), -1;
    int rc = MPI_Iallreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, comm, &pending[slot]);
    if (rc != MPI_SUCCESS)
        return failed("MPI_Iallreduce", rc);
    npending++;
    return 0;
}

static int test(void)
{
    int done = 0;
    int rc = npending ? MPI_Testall(npending, pending, &done, MPI_STATUSES_IGNORE) : MPI_SUCCESS;
    return rc == MPI_SUCCESS ? 0 : failed("MPI_Testall", rc);
}

static int wait_all(void)
{
    int rc = npending ? MPI_Waitall(npending, pending, MPI_STATUSES_IGNORE) : MPI_SUCCESS;
    npending = 0;
    return rc == MPI_SUCCESS ? 0 : failed("MPI_Waitall (gradient sums)", rc);
}

static int bcast(void *buf, size_t bytes, int root)
{
    int rc = MPI_Bcast(buf, (int)bytes, MPI_BYTE, root, comm);
    return rc == MPI_SUCCESS ? 0 : failed("MPI_Bcast", rc);
}

/* Whether a launcher started this process as a rank (Open MPI's mpirun, or PMI / PMIx). */
static int launched(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK");
}

fv_status fv_dist_init(int *argc, char ***argv)
{
    if (fv_comm || !launched())
        return FV_OK; /* already joined, or a plain process: single */
    int inited = 0, rc = MPI_SUCCESS;
    MPI_Initialized(&inited);
    if (!inited) {
        rc = MPI_Init(argc, argv);
        we_initialized = rc == MPI_SUCCESS;
    }
    if (rc == MPI_SUCCESS)
        rc = MPI_Comm_dup(MPI_COMM_WORLD, &comm);
    if (rc == MPI_SUCCESS)
        rc = MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
    if (rc == MPI_SUCCESS)
        rc = MPI_Comm_rank(comm, &ops.rank);
    if (rc == MPI_SUCCESS)
        rc = MPI_Comm_size(comm, &ops.size);
    if (rc != MPI_SUCCESS)
        return fv_err(FV_ERR_IO, "MPI: joining the job failed (error %d)", rc);
    ops.sum_f64 = sum_f64, ops.start_sum_f32 = start_sum_f32, ops.test = test;
    ops.wait_all = wait_all, ops.bcast = bcast;
    fv_dist_set(&ops);
    return FV_OK;
}

void fv_dist_finalize(void)
{
    if (!fv_comm)
        return;
    fv_dist_set(NULL);
    MPI_Comm_free(&comm);
    if (we_initialized)
        MPI_Finalize();
    we_initialized = 0;
}

void fv_dist_abort(int code)
{
    if (fv_comm)
        MPI_Abort(MPI_COMM_WORLD, code);
}

int fv_dist_available(void)
{
    return 1;
}
