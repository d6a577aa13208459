; Vectors are framework tables: vector-ref and vector-set! are inline array
; accesses in compiled code.
(define (sieve n)
  (let ((composite (make-vector (+ n 1) #f)))
    (let loop ((i 2) (count 0))
      (cond ((> i n) count)
            ((vector-ref composite i) (loop (+ i 1) count))
            (else
             (do ((j (* i i) (+ j i))) ((> j n))
               (vector-set! composite j #t))
             (loop (+ i 1) (+ count 1)))))))
(display (sieve 100000)) (newline)

(define (vector-sum v)
  (do ((i 0 (+ i 1))
       (s 0 (+ s (vector-ref v i))))
      ((= i (vector-length v)) s)))

(define v (make-vector 1000 0))
(do ((i 0 (+ i 1))) ((= i 1000)) (vector-set! v i (* i i)))
(display (vector-sum v)) (newline)
(vector-set! v 3 2.5)
(display (vector-sum v)) (newline)

(define (matrix n) ; a vector of row vectors
  (let ((m (make-vector n #f)))
    (do ((i 0 (+ i 1))) ((= i n) m)
      (let ((row (make-vector n 0)))
        (do ((j 0 (+ j 1))) ((= j n))
          (vector-set! row j (+ (* i n) j)))
        (vector-set! m i row)))))
(define (trace m)
  (let loop ((i 0) (s 0))
    (if (= i (vector-length m)) s (loop (+ i 1) (+ s (vector-ref (vector-ref m i) i))))))
(display (trace (matrix 100))) (newline)
(display (vector 1 "two" '(3) (vector 4))) (newline)
(display (vector-length (make-vector 0))) (newline)
