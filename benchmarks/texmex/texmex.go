// Package texmex reads and writes the TEXMEX vector file formats of the
// standard ANN benchmarks (http://corpus-texmex.irisa.fr/): .fvecs (float32
// vectors) and .ivecs (int32 vectors, e.g. ground-truth neighbour ids).
// Each vector is a little-endian int32 dimension followed by that many
// little-endian 4-byte components.
package texmex

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// maxDim bounds the dimension a reader accepts, so that a corrupt file
// cannot make it allocate without bound.
const maxDim = 1 << 16

// WriteFvecs writes n vectors of dim floats (data holds n*dim) to path.
func WriteFvecs(path string, data []float32, dim int) error {
	return write(path, len(data)/dim, dim, func(i int) uint32 { return math.Float32bits(data[i]) })
}

// WriteIvecs writes the rows (each of any length) to path.
func WriteIvecs(path string, rows [][]int32) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var b [4]byte
	for _, r := range rows {
		binary.LittleEndian.PutUint32(b[:], uint32(len(r)))
		w.Write(b[:])
		for _, v := range r {
			binary.LittleEndian.PutUint32(b[:], uint32(v))
			w.Write(b[:])
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func write(path string, n, dim int, at func(i int) uint32) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var b [4]byte
	for i := range n {
		binary.LittleEndian.PutUint32(b[:], uint32(dim))
		w.Write(b[:])
		for d := range dim {
			binary.LittleEndian.PutUint32(b[:], at(i*dim+d))
			w.Write(b[:])
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ReadFvecs reads a whole .fvecs file: the vectors, row-major, and their
// dimension. Every vector must have the same dimension.
func ReadFvecs(path string) (data []float32, dim int, err error) {
	rows, dim, err := read(path)
	if err != nil {
		return nil, 0, err
	}
	data = make([]float32, len(rows))
	for i, v := range rows {
		data[i] = math.Float32frombits(v)
	}
	return data, dim, nil
}

// ReadIvecs reads a whole .ivecs file, one row per vector. Every row must
// have the same length.
func ReadIvecs(path string) ([][]int32, error) {
	flat, dim, err := read(path)
	if err != nil {
		return nil, err
	}
	rows := make([][]int32, len(flat)/max(dim, 1))
	for i := range rows {
		rows[i] = make([]int32, dim)
		for d := range dim {
			rows[i][d] = int32(flat[i*dim+d])
		}
	}
	return rows, nil
}

func read(path string) (flat []uint32, dim int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	var b [4]byte
	dim = -1
	for n := 0; ; n++ {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return flat, max(dim, 0), nil
			}
			return nil, 0, fmt.Errorf("%s: vector %d: %w", path, n, err)
		}
		d := int(int32(binary.LittleEndian.Uint32(b[:])))
		if d < 1 || d > maxDim || (dim >= 0 && d != dim) {
			return nil, 0, fmt.Errorf("%s: vector %d has dimension %d", path, n, d)
		}
		dim = d
		buf := make([]byte, 4*d)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, 0, fmt.Errorf("%s: vector %d: %w", path, n, err)
		}
		for i := range d {
			flat = append(flat, binary.LittleEndian.Uint32(buf[4*i:]))
		}
	}
}
