"""Connectionist temporal classification (CTC; Graves et al., 2006): the loss of a line reader.

A line reader gives one output per column position t = 1..T, over C classes: the ten digits and
a "blank" (the last class) that means "no new digit here". A number such as 1 2 2 may be written
by many column paths: "1 1 - 2 - 2", "- 1 2 2 - 2" ... (- is blank): a path reads as the
number once repeats are merged and blanks dropped (so 2 2 needs a blank between the two 2s).
CTC's loss is the negative log of the probability of the number, summed over *every* path
that reads as it; no one says which column holds which digit.

Shape key: N lines, T columns, C classes (blank = C − 1), U digits of a number, S = 2U + 1 the
positions of the number with a blank around every digit: l' = (-, l1, -, l2, ..., -, lU, -).

Softmax per column gives y_t(k), the probability of class k at column t. The forward variable
α_t(s) is the probability of all path beginnings up to column t that end at position s of l':
    α_1(1) = y_1(-),  α_1(2) = y_1(l1),  α_1(s) = 0 for s > 2
    α_t(s) = (α_{t−1}(s) + α_{t−1}(s−1) + [l'_s ≠ - and l'_s ≠ l'_{s−2}]·α_{t−1}(s−2)) · y_t(l'_s)
(stay, step on, or skip a blank between two different digits). The backward variable β_t(s) is
the probability of all path endings after column t, from position s:
    β_T(S) = β_T(S−1) = 1,  other β_T(s) = 0
    β_t(s) = β_{t+1}(s)·y_{t+1}(l'_s) + β_{t+1}(s+1)·y_{t+1}(l'_{s+1})
             + [l'_{s+2} ≠ - and l'_{s+2} ≠ l'_s]·β_{t+1}(s+2)·y_{t+1}(l'_{s+2})
Then p(l | x) = α_T(S) + α_T(S−1), the loss L = −ln p(l | x), and for every t, α_t(s)·β_t(s) is
the probability of the paths that are at s in column t (their sum over s is p). With softmax
fused in, as cross-entropy's, the gradient with respect to the column's logits is
    dL/dz_t(k) = y_t(k) − Σ_{s: l'_s = k} α_t(s)·β_t(s) / p(l | x)
the probability the network gives class k at column t, minus the share of the paths that put k
there. Everything is done in log space (log α, log β; sums by log-add-exp), since products of
hundreds of probabilities underflow; the loss and gradient are sums over the batch, as every
loss's here.
"""

import numpy as np

NEGATIVE_INFINITY = -np.inf


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """(N, T, C) logits -> log y_t(k), per column."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def log_add(*terms: np.ndarray) -> np.ndarray:
    """ln(Σ e^term), element-wise, where a term of −∞ adds nothing."""
    stacked = np.stack(terms)
    top = stacked.max(axis=0)
    finite = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return finite + np.log(np.exp(stacked - finite).sum(axis=0))


def with_blanks(numbers: list, blank: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each number's l' (a blank around every digit), padded to the longest: (N, S) classes,
    (N, S) whether the skip from s − 2 to s is allowed, and each number's S."""
    longest = 2 * max((len(number) for number in numbers), default=0) + 1
    extended = np.full((len(numbers), longest), blank, dtype=np.int64)
    skips = np.zeros((len(numbers), longest), dtype=bool)
    for n, number in enumerate(numbers):
        digits = np.asarray(number, dtype=np.int64)
        extended[n, 1 : 2 * len(digits) : 2] = digits
        # a skip lands on a digit that differs from the digit two before it
        skips[n, 3 : 2 * len(digits) : 2] = digits[1:] != digits[:-1]
    return extended, skips, 2 * np.array([len(number) for number in numbers]) + 1


def columns_needed(number) -> int:
    """The fewest columns that can write `number`: one per digit, one more between repeats."""
    digits = list(number)
    return len(digits) + sum(a == b for a, b in zip(digits, digits[1:], strict=False))


class CTC:
    """The CTC loss of (N, T, C) column logits against N numbers (sequences of class indices,
    each shorter than a line is wide); blank is the last class."""

    name = "ctc"

    def __call__(self, logits: np.ndarray, numbers: list) -> tuple[float, np.ndarray]:
        """(the loss summed over the lines, dL/dlogits (N, T, C))."""
        lines, columns, classes = logits.shape
        blank = classes - 1
        for number in numbers:
            if columns_needed(number) > columns:
                raise ValueError(f"{len(number)} digits need {columns_needed(number)} columns; "
                                 f"the line has {columns}")  # fmt: skip
        log_y = log_softmax(logits.astype(np.float64))
        extended, skips, lengths = with_blanks(numbers, blank)
        rows = np.arange(lines)[:, None]
        # (N, S, T), the indexed axes first, as NumPy puts them -> (T, N, S): log y_t(l'_s)
        log_y_at = log_y[rows, :, extended].transpose(2, 0, 1)
        log_alpha = self.forward(log_y_at, skips, lengths)
        log_beta = self.backward(log_y_at, skips, lengths)
        ends = np.arange(lines)
        last_digit = np.where(lengths > 1, log_alpha[-1, ends, lengths - 2], NEGATIVE_INFINITY)
        log_p = log_add(log_alpha[-1, ends, lengths - 1], last_digit)  # (an empty line: blanks)
        # Σ over s with l'_s = k of α_t(s)·β_t(s) / p, gathered into the C classes of each column
        occupancy = np.exp(log_alpha + log_beta - log_p[None, :, None])  # (T, N, S)
        shares = np.zeros((columns, lines, classes))
        for s in range(extended.shape[1]):
            shares[:, ends, extended[:, s]] += occupancy[:, :, s]
        gradient = np.exp(log_y) - shares.transpose(1, 0, 2)  # y − share: (N, T, C)
        return float(-log_p.sum()), gradient.astype(logits.dtype)

    @staticmethod
    def forward(log_y_at: np.ndarray, skips: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """log α_t(s) for every column, line and position: (T, N, S)."""
        columns, lines, positions = log_y_at.shape
        log_alpha = np.full((columns, lines, positions), NEGATIVE_INFINITY)
        log_alpha[0, :, 0] = log_y_at[0, :, 0]  # start on the blank...
        log_alpha[0, :, 1] = np.where(lengths > 1, log_y_at[0, :, 1], NEGATIVE_INFINITY)  # or l1
        inside = np.arange(positions)[None, :] < lengths[:, None]  # (N, S): s within each l'
        for t in range(1, columns):
            before = log_alpha[t - 1]
            step_on = np.pad(before[:, :-1], ((0, 0), (1, 0)), constant_values=NEGATIVE_INFINITY)
            skip = np.pad(before[:, :-2], ((0, 0), (2, 0)), constant_values=NEGATIVE_INFINITY)
            skip = np.where(skips, skip, NEGATIVE_INFINITY)
            log_alpha[t] = np.where(inside, log_add(before, step_on, skip) + log_y_at[t],
                                    NEGATIVE_INFINITY)  # fmt: skip
        return log_alpha

    @staticmethod
    def backward(log_y_at: np.ndarray, skips: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """log β_t(s): (T, N, S); β counts the columns after t (their y), not column t's."""
        columns, lines, positions = log_y_at.shape
        log_beta = np.full((columns, lines, positions), NEGATIVE_INFINITY)
        ends = np.arange(lines)
        log_beta[-1, ends, lengths - 1] = 0.0  # end on the last blank...
        has_digits = ends[lengths > 1]
        log_beta[-1, has_digits, lengths[has_digits] - 2] = 0.0  # or on the last digit
        # a skip from s to s + 2 is allowed where the skip *onto* s + 2 is (skips[s + 2])
        skip_from = np.pad(skips[:, 2:], ((0, 0), (0, 2)), constant_values=False)
        for t in range(columns - 2, -1, -1):
            after = log_beta[t + 1] + log_y_at[t + 1]  # β_{t+1}(s)·y_{t+1}(l'_s)
            step_on = np.pad(after[:, 1:], ((0, 0), (0, 1)), constant_values=NEGATIVE_INFINITY)
            skip = np.pad(after[:, 2:], ((0, 0), (0, 2)), constant_values=NEGATIVE_INFINITY)
            log_beta[t] = log_add(after, step_on, np.where(skip_from, skip, NEGATIVE_INFINITY))
        return log_beta


def best_path(logits: np.ndarray) -> list[tuple[list[int], list[tuple[int, int]]]]:
    """Greedy decoding of (N, T, C) column outputs: each column's likeliest class, repeats merged,
    blanks dropped. Per line: the digits, and each digit's columns (first, last) as its box."""
    blank = logits.shape[-1] - 1
    decoded = []
    for classes in logits.argmax(axis=-1):
        digits, spans, previous = [], [], blank
        for t, k in enumerate(classes):
            if k != blank and k == previous:
                spans[-1] = (spans[-1][0], t)  # the same digit, still firing
            elif k != blank:
                digits.append(int(k))
                spans.append((t, t))
            previous = k
        decoded.append((digits, spans))
    return decoded


class ColumnCTC:
    """CTC as a network's loss: its last layer's (N·T, C) rows, one per column position of each
    line (as `convolution.Columns` lays them out, line by line), against (N, U) numbers padded
    with −1. Reported: the mean loss per line; the gradient is of the sum, as every loss's."""

    name = "ctc"
    output_activation = None  # logits: the softmax of each column is fused in, as cross-entropy's

    @staticmethod
    def targets(labels: np.ndarray, classes: int, dtype) -> np.ndarray:
        """(N, U) numbers padded with −1 are the targets as they are."""
        return labels

    @staticmethod
    def read(output: np.ndarray, count: int) -> np.ndarray:
        """(N·T, C) column outputs or scores of `count` lines -> (N, T) each line's digits by best
        path, padded with −1."""
        columns = len(output) // max(count, 1)
        read = np.full((count, columns), -1, dtype=np.int64)
        for n, (digits, _) in enumerate(best_path(output.reshape(count, columns, -1))):
            read[n, : len(digits)] = digits
        return read

    @staticmethod
    def numbers(targets: np.ndarray) -> list[list[int]]:
        """(N, U) padded targets -> each line's digits."""
        return [[int(k) for k in row if k >= 0] for row in np.asarray(targets)]

    def __call__(self, output: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
        lines = len(targets)
        loss, gradient = CTC()(
            output.reshape(lines, len(output) // lines, -1), self.numbers(targets)
        )
        return loss / lines, gradient.reshape(output.shape)

    def objective(self, output: np.ndarray, targets: np.ndarray) -> float:
        """The summed loss whose gradient `__call__` returns (for gradient checks)."""
        lines = len(targets)
        return CTC()(output.reshape(lines, len(output) // lines, -1), self.numbers(targets))[0]

    @staticmethod
    def scores(output: np.ndarray) -> np.ndarray:
        """Each column's class probabilities."""
        return np.exp(log_softmax(output))
