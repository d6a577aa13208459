; Loops: named let and do, which run as loops (the main program's ones enter
; optimized code on the stack), over integers and floats.
(define (sum-to n)
  (let loop ((i 0) (acc 0))
    (if (> i n) acc (loop (+ i 1) (+ acc i)))))

(define (harmonic n)
  (do ((i 1 (+ i 1))
       (sum 0.0 (+ sum (/ 1.0 i))))
      ((> i n) sum)))

(define (collatz-steps n)
  (let loop ((n n) (steps 0))
    (cond ((= n 1) steps)
          ((= (remainder n 2) 0) (loop (quotient n 2) (+ steps 1)))
          (else (loop (+ (* 3 n) 1) (+ steps 1))))))

(display (sum-to 1000000)) (newline)
(display (harmonic 1000)) (newline)

(define best 0)
(define best-n 0)
(do ((n 1 (+ n 1))) ((> n 30000))
  (let ((s (collatz-steps n)))
    (when (> s best)
      (set! best s)
      (set! best-n n))))
(display (list best-n best)) (newline)

; A loop whose accumulator turns from integer to float halfway.
(define (mixed n)
  (let loop ((i 0) (acc 0))
    (cond ((= i n) acc)
          ((= i (quotient n 2)) (loop (+ i 1) (+ acc 0.5)))
          (else (loop (+ i 1) (+ acc 1))))))
(display (mixed 100000)) (newline)

(define total 0)
(let outer ((i 0))
  (when (< i 300)
    (let inner ((j 0))
      (when (< j 300)
        (set! total (+ total (* i j)))
        (inner (+ j 1))))
    (outer (+ i 1))))
(display total) (newline)
