from ompilot.verify.compare import Tolerance, output_difference


def test_exact_text_and_integers():
    assert output_difference("sum = 10\n", "sum = 10\n") is None
    assert "integer" in output_difference("count 10\n", "count 11\n")
    assert "differs" in output_difference("ok\n", "no\n")
    assert "1 line instead of the serial run's 2" in output_difference("a\nb\n", "a\n")


def test_floats_within_tolerance():
    assert output_difference("s = 1.000000000000e+00\n", "s = 1.000000000001e+00\n") is None
    assert output_difference("s = 1.000\n", "s = 1.002\n") is not None  # two units of the last digit
    assert output_difference("s = 1.000\n", "s = 1.002\n", Tolerance(rel=1e-2, abs=0)) is None
    assert output_difference("nan\n", "nan\n") is None
