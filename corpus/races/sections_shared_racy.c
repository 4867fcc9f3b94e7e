/* Two sections over one data set: the first computes the total, the second
 * counts the values above the mean, reading the total while the first
 * section may still be writing it. */
#include <stdio.h>

#define N 3000

static double sum_of(const double *v, int n)
{
    double s = 0.0;
    int k;
    for (k = 0; k < n; k++)
        s += v[k];
    return s;
}

int main(void)
{
    static double data[N];
    double total = 0.0;
    int above = 0;
    int i;

    for (i = 0; i < N; i++)
        data[i] = (double)((i * 37) % 101) - 50.0;

#pragma omp parallel sections
    {
#pragma omp section
        total = sum_of(data, N);
#pragma omp section
        {
            int k, count = 0;
            double mean = total / N;
            for (k = 0; k < N; k++)
                if (data[k] > mean)
                    count++;
            above = count;
        }
    }
    printf("total %.3f above %d\n", total, above);
    return 0;
}
