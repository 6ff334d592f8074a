module github.com/datasurface/datasurface/cmd/datasurface

go 1.26.0
