module github.com/modhash/modhash

go 1.19
