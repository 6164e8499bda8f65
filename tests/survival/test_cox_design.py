"""Design matrix coding as R's model.matrix, and factor level order as R's sort()."""

from __future__ import annotations

import numpy as np

from netoutcomes.survival.design import design_matrix, factor_levels


def test_level_order_matches_r_sort() -> None:
    # R 4.2.2 (ICU collation) on this machine:
    #   sort(c("a-b","ab","a b","aB","Ab","a1","a_2","AB","b","é","e","f","Zeta","zeta",
    #          "z","-","G1","G2","G10","NEC"))
    values = ["a-b", "ab", "a b", "aB", "Ab", "a1", "a_2", "AB", "b", "é", "e", "f", "Zeta",
              "zeta", "z", "-", "G1", "G2", "G10", "NEC"]  # fmt: skip
    r_sorted = ["-", "a b", "a_2", "a-b", "a1", "ab", "aB", "Ab", "AB", "b", "e", "é", "f",
                "G1", "G10", "G2", "NEC", "z", "zeta", "Zeta"]  # fmt: skip
    assert factor_levels(np.array(values, dtype=object)) == r_sorted
    # levels(factor(c("male", "Female", "female")))
    assert factor_levels(np.array(["male", "Female", "female"], dtype=object)) == [
        "female",
        "Female",
        "male",
    ]


def test_treatment_contrasts_and_missing_rows() -> None:
    columns = {
        "age": np.array([50.0, np.nan, 61.0, 70.0, 45.0]),
        "cell": np.array(["squamous", "adeno", None, "large", "adeno"], dtype=object),
    }
    d = design_matrix(columns, ["age", "cell"])
    # Rows 2 (age NA) and 3 (cell NA) dropped; levels from the rows kept: adeno, large, squamous.
    assert d.n_dropped == 2
    assert d.keep.tolist() == [True, False, False, True, True]
    assert d.column_names == ["age", "celllarge", "cellsquamous"]
    assert d.term_names == ["age", "cell"]
    assert d.term_columns == [[0], [1, 2]]
    np.testing.assert_array_equal(d.x, [[50, 0, 1], [70, 1, 0], [45, 0, 0]])


def test_symbols_sort_before_digits_and_letters_as_r() -> None:
    # R 4.2.2 (ICU): sort(c("1", "°", "a", "€", "Z")) gives "°" "€" "1" "a" "Z".
    # (Among symbols outside ASCII punctuation our order is by code point, which is not
    # always ICU's: R puts "§" before "%" and "°" before "©"; these are not covered.)
    values = np.array(["1", "°", "a", "€", "Z"], dtype=object)
    assert factor_levels(values) == ["°", "€", "1", "a", "Z"]


def test_digits_of_any_script_sort_before_letters_as_r() -> None:
    # R 4.2.2 (ICU): sort(c("a", "\u0663", "Z", "1", "b")) gives "1" "٣" "a" "b" "Z"
    # (U+0663, ARABIC-INDIC DIGIT THREE, has a code point above every Latin letter)
    values = np.array(["a", "\u0663", "Z", "1", "b"], dtype=object)
    assert factor_levels(values) == ["1", "\u0663", "a", "b", "Z"]


def test_no_covariates_gives_an_empty_design() -> None:
    empty = design_matrix({}, [])
    assert empty.x.shape == (0, 0) and empty.keep.shape == (0,) and empty.n_dropped == 0
    rows = design_matrix({"t": np.array([1.0, 2.0, 3.0])}, [])
    assert rows.x.shape == (3, 0) and rows.keep.tolist() == [True] * 3
