package client_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"yiku/adapters/client"
)

// A department system publishes records in batches; a repeated call with
// the same key prefix (a retry after a crash) is applied once.
func ExampleClient_PublishAll() {
	c, err := client.New("http://127.0.0.1:8080", os.Getenv("YIKU_TOKEN"))
	if err != nil {
		log.Fatal(err)
	}
	records := []any{map[string]any{
		"registration_number": "J431302-2024-000123", "registration_type": "marriage",
		"id_number": "43130219500101001X", "name": "王伟",
		"spouse_id_number": "431302195001010028", "spouse_name": "李芳",
		"registration_date": "2024-05-20", "registration_office": "娄星区民政局婚姻登记处",
	}}
	res, err := c.PublishAll(context.Background(), "marriage-registration", records, "hy-export-20240520")
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range res.Errors {
		fmt.Printf("record %d %s: %s (%s)\n", e.Index, e.Pointer, e.Message, e.Rule)
	}
	fmt.Println("accepted", res.Accepted)
}

// The receiving side pulls a subscription and acknowledges what it stored.
func ExampleClient_Pull() {
	c, err := client.New("http://127.0.0.1:8080", os.Getenv("YIKU_TOKEN"))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	sub, err := c.Subscribe(ctx, client.SubscribeRequest{Resource: "business-licence", Purpose: "企业开办审批核验营业执照"})
	if err != nil {
		log.Fatal(err)
	}
	page, err := c.Pull(ctx, sub.ID, "", 100)
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range page.Records {
		fmt.Println(d.Seq, string(d.Record)) // store it in the department's own system here
	}
	if err := c.Ack(ctx, sub.ID, page.Cursor); err != nil {
		log.Fatal(err)
	}
}

// An officer's system reads one subject's record, stating the purpose and
// the case number; the hub audits the read and masks what the grant hides.
func ExampleClient_Record() {
	c, err := client.New("http://127.0.0.1:8080", os.Getenv("YIKU_TOKEN"))
	if err != nil {
		log.Fatal(err)
	}
	r, err := c.Record(context.Background(), "population", "11010519491231002X",
		client.ReadOptions{Purpose: "户籍证明核验", CaseNumber: "LX-2024-000123"})
	if err != nil {
		log.Fatal(err)
	}
	if r.Current != nil {
		fmt.Println(string(r.Current.Record))
	}
}
