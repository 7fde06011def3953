// Python `str` semantics on Unicode code points, for an exact port of FunASR's text code.
//
// Swift's `String` compares by canonical equivalence and iterates grapheme clusters;
// Python's `str` compares, measures and searches code points. FunASR's postprocessing
// relies on `len(word) == 1`, `"@@" in word`, `str.replace`, `str <= str`,
// `str.isalpha()`, `bytes.isalpha()` and `str.strip()`, so these helpers work on
// `[Unicode.Scalar]` and never on `Character`s.

/// A Python-style string: a sequence of Unicode code points.
package typealias Scalars = [Unicode.Scalar]

/// Python `str` operations on code points.
package enum PythonText {
    /// The code points of `s`, unnormalised.
    package static func scalars(_ s: String) -> Scalars { Array(s.unicodeScalars) }

    /// A `String` holding exactly the code points `s`.
    package static func string(_ s: Scalars) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: s)
        return String(view)
    }

    /// Python `a <= b`: lexicographic comparison of code point values.
    package static func lessOrEqual(_ a: Scalars, _ b: Scalars) -> Bool {
        for (x, y) in zip(a, b) where x != y { return x.value < y.value }
        return a.count <= b.count
    }

    /// Python `str.isalpha()`: non-empty, and every code point's general category is
    /// Lu, Ll, Lt, Lm or Lo.
    ///
    /// Limits: Swift's Unicode tables may be newer than Python 3.11's (Unicode 14.0), so
    /// code points assigned after 14.0 may differ; none of them occurs in FunASR's
    /// released vocabularies.
    package static func isAlpha(_ s: Scalars) -> Bool {
        guard !s.isEmpty else { return false }
        return s.allSatisfy { scalar in
            switch scalar.properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter,
                .otherLetter:
                return true
            default:
                return false
            }
        }
    }

    /// Python `s.encode("utf-8").isalpha()`: non-empty and only ASCII letters.
    package static func isASCIIAlpha(_ s: Scalars) -> Bool {
        guard !s.isEmpty else { return false }
        return s.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) }
    }

    /// Python `s.upper()` for ASCII letters; other code points are kept (FunASR only
    /// upper-cases single ASCII letters).
    package static func asciiUppercased(_ s: Scalars) -> Scalars {
        s.map { ("a"..."z").contains($0) ? Unicode.Scalar($0.value - 32)! : $0 }
    }

    /// Python `sub in s`.
    package static func contains(_ s: Scalars, _ sub: Scalars) -> Bool {
        firstIndex(of: sub, in: s, from: 0) != nil
    }

    /// Python `s.replace(old, new)`: every non-overlapping occurrence, left to right.
    package static func replacing(_ s: Scalars, _ old: Scalars, with new: Scalars) -> Scalars {
        precondition(!old.isEmpty, "replacing an empty pattern is not used by FunASR")
        var out = Scalars()
        var i = 0
        while let j = firstIndex(of: old, in: s, from: i) {
            out += s[i..<j]
            out += new
            i = j + old.count
        }
        out += s[i...]
        return out
    }

    /// Python `s.strip()`: removes leading and trailing code points for which
    /// `str.isspace()` is true.
    package static func strip(_ s: Scalars) -> Scalars {
        guard let first = s.firstIndex(where: { !isSpace($0) }),
            let last = s.lastIndex(where: { !isSpace($0) })
        else { return [] }
        return Array(s[first...last])
    }

    /// Python `str.isspace()` for one code point (the 29 code points of Python 3.11).
    package static func isSpace(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029,
            0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    private static func firstIndex(of sub: Scalars, in s: Scalars, from start: Int) -> Int? {
        guard !sub.isEmpty, s.count - start >= sub.count else { return nil }
        for i in start...(s.count - sub.count) where s[i] == sub[0] {
            if s[i..<(i + sub.count)].elementsEqual(sub) { return i }
        }
        return nil
    }
}
