// dwarfdump prints, with Go's own debug/dwarf, the facts the gobin DWARF
// tests compare against: struct sizes and field offsets, constants with a
// prefix, and global variable addresses.
//
// usage: go run dwarfdump.go BIN TYPE... -- CONSTPREFIX -- GLOBAL... -- FUNC...
package main

import (
	"debug/dwarf"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"sort"
	"strings"
)

func main() {
	f, err := elf.Open(os.Args[1])
	if err != nil {
		panic(err)
	}
	d, err := f.DWARF()
	if err != nil {
		panic(err)
	}
	var types, globals, funcs []string
	prefix := ""
	part := 0
	for _, a := range os.Args[2:] {
		if a == "--" {
			part++
			continue
		}
		switch part {
		case 0:
			types = append(types, a)
		case 1:
			prefix = a
		case 2:
			globals = append(globals, a)
		case 3:
			funcs = append(funcs, a)
		}
	}
	want := map[string]bool{}
	for _, t := range types {
		want[t] = true
	}
	wantG := map[string]bool{}
	for _, g := range globals {
		wantG[g] = true
	}
	wantF := map[string]bool{}
	for _, f := range funcs {
		wantF[f] = true
	}
	var out []string
	seenT := map[string]bool{}
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil {
			panic(err)
		}
		if e == nil {
			break
		}
		name, _ := e.Val(dwarf.AttrName).(string)
		switch e.Tag {
		case dwarf.TagStructType:
			if want[name] && !seenT[name] {
				seenT[name] = true
				t, err := d.Type(e.Offset)
				if err != nil {
					panic(err)
				}
				st := t.(*dwarf.StructType)
				out = append(out, fmt.Sprintf("type %s size %d", name, st.ByteSize))
				for _, fld := range st.Field {
					out = append(out, fmt.Sprintf("field %s %s %d", name, fld.Name, fld.ByteOffset))
				}
			}
		case dwarf.TagSubprogram:
			if wantF[name] && e.Children {
				wantF[name] = false
				for depth := 1; depth > 0; {
					c, err := r.Next()
					if err != nil || c == nil {
						panic(fmt.Sprint("truncated children of ", name, err))
					}
					if c.Tag == 0 {
						depth--
						continue
					}
					if c.Children {
						depth++
					}
					if c.Tag == dwarf.TagVariable || c.Tag == dwarf.TagFormalParameter {
						vn, _ := c.Val(dwarf.AttrName).(string)
						out = append(out, fmt.Sprintf("var %s %s param=%v", name, vn, c.Tag == dwarf.TagFormalParameter))
					}
				}
			}
		case dwarf.TagConstant:
			if prefix != "" && strings.HasPrefix(name, prefix) {
				switch v := e.Val(dwarf.AttrConstValue).(type) {
				case int64:
					out = append(out, fmt.Sprintf("const %s %d", name, v))
				}
			}
		case dwarf.TagVariable:
			if wantG[name] {
				if loc, ok := e.Val(dwarf.AttrLocation).([]byte); ok && len(loc) == 9 && loc[0] == 0x03 {
					out = append(out, fmt.Sprintf("global %s %#x", name, binary.LittleEndian.Uint64(loc[1:])))
				}
				wantG[name] = false
			}
		}
	}
	sort.Strings(out)
	fmt.Println(strings.Join(out, "\n"))
}
