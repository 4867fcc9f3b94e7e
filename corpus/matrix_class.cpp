// A small matrix class over std::vector with an element accessor: fill,
// matrix-vector product and a loop calling a pure lambda.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

class Matrix {
public:
    Matrix(int rows, int cols) : rows_(rows), cols_(cols), data_(static_cast<std::size_t>(rows) * cols) {}

    double &operator()(int i, int j) { return data_[static_cast<std::size_t>(i) * cols_ + j]; }
    double operator()(int i, int j) const { return data_[static_cast<std::size_t>(i) * cols_ + j]; }
    int rows() const { return rows_; }
    int cols() const { return cols_; }

    void fill()
    {
        for (int i = 0; i < rows_; ++i)
            for (int j = 0; j < cols_; ++j)
                (*this)(i, j) = std::cos(0.01 * i) + 0.001 * j;
    }

private:
    int rows_, cols_;
    std::vector<double> data_;
};

static std::vector<double> multiply(const Matrix &m, const std::vector<double> &x)
{
    std::vector<double> y(m.rows());
    for (int i = 0; i < m.rows(); ++i) {
        double s = 0.0;
        for (int j = 0; j < m.cols(); ++j)
            s += m(i, j) * x[j];
        y[i] = s;
    }
    return y;
}

int main(int argc, char **argv)
{
    int scale = argc > 1 ? std::atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    const int rows = 400 * scale, cols = 300;
    Matrix m(rows, cols);
    m.fill();

    auto weight = [](int j) { return 1.0 / (1.0 + j); };
    std::vector<double> x(cols);
    for (int j = 0; j < cols; ++j)
        x[j] = weight(j);

    std::vector<double> y = multiply(m, x);

    std::printf("m(1,2) = %.15g  y[0] = %.15e  y[rows-1] = %.15e\n", m(1, 2), y[0], y[rows - 1]);
    return 0;
}
