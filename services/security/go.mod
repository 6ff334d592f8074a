module github.com/datasurface/datasurface/services/security

go 1.26.0
