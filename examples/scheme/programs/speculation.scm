; Types that change after the optimizing tier has speculated on them: each change
; fails a guard, the call finishes in the interpreter, and the next optimized code
; does not make the same guess.
(define (scale x k) (* x k))
(define (sum-scaled n k)
  (let loop ((i 0) (acc 0))
    (if (= i n) acc (loop (+ i 1) (+ acc (scale i k))))))
(display (sum-scaled 20000 3)) (newline)
(display (sum-scaled 20000 0.5)) (newline)
(display (sum-scaled 20000 2)) (newline)

; A global procedure replaced while a caller is hot.
(define (op a b) (+ a b))
(define (run n) (let loop ((i 0) (acc 0)) (if (= i n) acc (loop (+ i 1) (op acc i)))))
(display (run 50000)) (newline)
(set! op (lambda (a b) (- a b)))
(display (run 50000)) (newline)

; An argument that stops being a number.
(define (describe x)
  (cond ((number? x) (* x 2))
        ((pair? x) (car x))
        (else x)))
(define (describe-all n x)
  (let loop ((i 0) (last 0)) (if (= i n) last (loop (+ i 1) (describe x)))))
(display (describe-all 5000 21)) (newline)
(display (describe-all 5000 '(first second))) (newline)
(display (describe-all 5000 "text")) (newline)
